// Messages between the trainer host (serving thread) and a training worker.
import type { RunProgress } from '../../../shared/contract'
import type { CorpusSource } from '../data'
import type { AddedDomain } from './data'
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

export type WorkerToHost =
  | { type: 'progress'; progress: RunProgress }
  | { type: 'log'; message: string }
  | { type: 'done'; outcome: RunOutcome }
  | { type: 'prepared'; error: string | null }
  | { type: 'domain-added'; result: AddedDomain | null; error: string | null }
