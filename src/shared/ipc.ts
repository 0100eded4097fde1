// Channel names and envelopes for the Electron IPC transport (main <-> preload).
import { z } from 'zod'
import type { ApiErrorBody } from './contract'

export const IPC_RPC_CHANNEL = 'elle:rpc'
export const IPC_EVENT_CHANNEL = 'elle:event'
/** the native file/folder dialog for a corpus (issue 13): the paths come back checked by the main process */
export const IPC_PICK_CHANNEL = 'elle:pick-corpus'

/** files, folder: a corpus to read; output-folder: a folder to write into or read a model from (checkpoint actions) */
export const PICK_KINDS = ['files', 'folder', 'output-folder'] as const
export type PickKind = (typeof PICK_KINDS)[number]
/** ok with no paths: the dialog was cancelled */
export type PickResponse = { ok: true; paths: string[] } | ({ ok: false } & ApiErrorBody)

export const IpcRequest = z.object({ method: z.string(), params: z.unknown().optional() }).strict()
export type IpcRequest = z.infer<typeof IpcRequest>

/** ipcMain.handle turns thrown errors into opaque strings, so failures travel as values. */
export type IpcResponse = { ok: true; result: unknown } | ({ ok: false } & ApiErrorBody)

/** What the preload exposes on `window.elle`; the renderer's IPC client wraps it. */
export interface PreloadBridge {
  invoke(method: string, params: unknown): Promise<IpcResponse>
  onEvent(listener: (event: unknown) => void): () => void
  /** the native dialog: text/JSONL files, or one folder, on this machine */
  pickCorpus(kind: PickKind): Promise<PickResponse>
}
