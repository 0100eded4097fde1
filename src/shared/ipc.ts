// Channel names and envelopes for the Electron IPC transport (main <-> preload).
import { z } from 'zod'
import type { ApiErrorBody } from './contract'

export const IPC_RPC_CHANNEL = 'elle:rpc'
export const IPC_EVENT_CHANNEL = 'elle:event'

export const IpcRequest = z.object({ method: z.string(), params: z.unknown().optional() }).strict()
export type IpcRequest = z.infer<typeof IpcRequest>

/** ipcMain.handle turns thrown errors into opaque strings, so failures travel as values. */
export type IpcResponse = { ok: true; result: unknown } | ({ ok: false } & ApiErrorBody)

/** What the preload exposes on `window.elle`; the renderer's IPC client wraps it. */
export interface PreloadBridge {
  invoke(method: string, params: unknown): Promise<IpcResponse>
  onEvent(listener: (event: unknown) => void): () => void
}
