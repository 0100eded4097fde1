// Messages between the trainer host (serving thread) and a training worker.
import type { RunProgress } from '../../../shared/contract'
import type { CorpusSource } from '../data'
import type { AddedDomain } from './data'
import type { GpuReplicaRequest } from './gpu-page-gradients'
import type { RunOutcome, TrainingJob } from './run'

export interface AddDomainJob {
  dbPath: string
  dataDir: string
  name: string
  source: CorpusSource
  description?: string
}

export type HostToWorker =
  | { type: 'start'; job: TrainingJob }
  | { type: 'cancel' }
  /** another process owns the run now: stop at once and write nothing more (no checkpoint, no metrics) */
  | { type: 'lost' }
  | { type: 'prepare'; dbPath: string; dataDir: string }
  | { type: 'add-domain'; job: AddDomainJob }
  /** the GPU page's answer to the worker's request `id` (relayed by the host) */
  | { type: 'gpu-answer'; id: number; ok: true; result: unknown }
  | { type: 'gpu-answer'; id: number; ok: false; error: string }

export type WorkerToHost =
  | { type: 'progress'; progress: RunProgress }
  | { type: 'log'; message: string }
  | { type: 'done'; outcome: RunOutcome }
  | { type: 'prepared'; error: string | null }
  | { type: 'domain-added'; result: AddedDomain | null; error: string | null }
  /** a request for the host's GPU page (the run trains through it: TrainingJob.gpu) */
  | { type: 'gpu-request'; id: number; call: GpuReplicaRequest }
