// Messages between the job host (serving thread) and a job worker.
import type { JobKind } from '../../../shared/contract'
import type { BackendRequest } from '../backend/select'

export interface JobWork {
  jobId: number
  kind: JobKind
  /** the starter's params with ids resolved (checkpointPath) and defaults filled in (outDir) */
  params: Record<string, unknown>
  dbPath: string
  dataDir: string
  backend: BackendRequest
  /** Int32 [0]: set to 1 by the host to cancel; read synchronously at each progress point, so a body
   *  busy in a synchronous loop (fine-tuning) stops without the message queue being served */
  cancel: SharedArrayBuffer
}

export type HostToJobWorker = { type: 'start'; work: JobWork }

export type JobWorkerToHost =
  | { type: 'progress'; fraction: number | null; message: string }
  | { type: 'log'; message: string }
  | { type: 'done'; result: Record<string, unknown> }
  | { type: 'cancelled' }
  /** input: the user's request was at fault (a bad task, a folder that is not empty), not the engine */
  | { type: 'failed'; error: string; input: boolean }
