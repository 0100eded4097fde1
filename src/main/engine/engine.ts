// The engine: store, backend and event bus behind one object. It knows nothing of Electron or HTTP;
// transports (IPC, HTTP/WebSocket, CLI) adapt it.
import type { BackendReport, RunStatus, RunSummary } from '../../shared/contract'
import { selectBackend, type BackendRequest } from './backend/select'
import { EventBus } from './events'
import { ExperimentStore } from './store/store'

export interface EngineOptions {
  dbPath: string
  backend?: BackendRequest
}

export class Engine {
  readonly events = new EventBus()

  private constructor(
    readonly store: ExperimentStore,
    readonly backend: BackendReport
  ) {}

  static async open(options: EngineOptions): Promise<Engine> {
    const backend = await selectBackend(options.backend)
    const store = ExperimentStore.open(options.dbPath)
    return new Engine(store, backend)
  }

  /** Queue a run of the experiment with this config (created on first use, found by hash after). */
  createRun(experimentName: string, config: unknown): RunSummary {
    const experiment = this.store.ensureExperiment(experimentName, config)
    const run = this.store.createRun(experiment.id, { backend: this.backend.active })
    this.events.publish({ type: 'run.updated', run })
    return run
  }

  setRunStatus(id: number, status: RunStatus, details: { error?: string | null } = {}): RunSummary {
    const run = this.store.setRunStatus(id, status, details)
    this.events.publish({ type: 'run.updated', run })
    return run
  }

  close(): void {
    this.store.close()
  }
}
