// Messages between the trainer host (serving thread) and a training worker.
import type { RunProgress } from '../../../shared/contract'
import type { RunOutcome, TrainingJob } from './run'

export type HostToWorker = { type: 'start'; job: TrainingJob } | { type: 'cancel' } | { type: 'prepare'; dbPath: string; dataDir: string }

export type WorkerToHost =
  | { type: 'progress'; progress: RunProgress }
  | { type: 'log'; message: string }
  | { type: 'done'; outcome: RunOutcome }
  | { type: 'prepared'; error: string | null }
