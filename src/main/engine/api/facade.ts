// The engine's one public module for its hosts (issue 10): the HTTP transport (`elle serve`), the Electron
// adapter and the CLI reach the engine through `openEngineApi`, whose `call` is the same handler both
// transports call (validated with src/shared/contract.ts, errors as ApiErrors), and whose events are the
// contract's. Besides that it exports only what is not an operation: where the store and data live, how a
// backend is requested, and pure presentation of contract results (the compare report, lifelong curves).
// `npm run lint` holds the CLI to this module and src/shared (rule adapters-only-facade).
import type { ApiClient, ApiEvent, BackendReport, HostBackendCandidate, Method, Params, Result, SystemInfo } from '../../../shared/contract'
import type { BackendRequest } from '../backend/select'
import type { GpuPageRelay } from '../training/gpu-page-gradients'
import { Engine } from '../engine'
import type { EventBus } from '../events'
import { createApiHandler, type ApiHandler } from './handler'

export interface EngineApiOptions {
  dbPath: string
  dataDir?: string
  backend?: BackendRequest
  /** which client this is (system.info's mode) */
  mode: SystemInfo['mode']
  /** open the store read-only: only reading methods can be called (they then work on read-only media) */
  readonly?: boolean
  /** prepare the built-in default stream in the background when the store lacks it (the app does) */
  prepareDefaultStream?: boolean
  /** a training run's log lines (resumed-from, growth, …) */
  log?: (runId: number, message: string) => void
  /**
   * runner: train every queue entry in order (default for the workbench and elle serve; elle worker);
   * own: train only the runs this process starts, at once (default for the other CLI commands)
   */
  queue?: 'runner' | 'own'
}

/** The contract, served in this process: what a transport serves and what the CLI calls. */
export interface EngineApi extends ApiClient {
  /** the handler both transports call: (method, params) → validated result, or an ApiError */
  readonly handler: ApiHandler
  /** the events the contract pushes (run.progress, job.progress, …), for a transport to forward */
  readonly events: EventBus
  readonly storePath: string
  /** corpora, caches and checkpoints (a transport stages uploads under it) */
  readonly dataDir: string
  /** the backend report (what system.info answers), with the host's entries once reported */
  readonly backend: BackendReport
  /**
   * The host's side of the report: an entry for a backend the host provides outside the engine (Electron's GPU
   * window), which replaces the entry of the same name; clients get the new report as event backend.changed.
   */
  reportHostBackend(entry: HostBackendCandidate): BackendReport
  /** The host's GPU page (Electron's GPU window) that runs started from now on compute their gradients on; null: none. */
  attachGpuPage(relay: GpuPageRelay | null): void
  /** publish changes other processes make to the store (runs, domains, streams) */
  watchExternalChanges(): void
  /** stop queued and running jobs and runs of this process, and close the store */
  close(): Promise<void>
}

export async function openEngineApi(options: EngineApiOptions): Promise<EngineApi> {
  const engine = await Engine.open({
    dbPath: options.dbPath,
    dataDir: options.dataDir,
    backend: options.backend,
    readonly: options.readonly,
    prepareDefaultStream: options.prepareDefaultStream,
    log: options.log,
    queue: { mode: options.queue ?? (options.mode === 'cli' ? 'own' : 'runner') }
  })
  const handler = createApiHandler(engine, options.mode)
  return {
    handler,
    events: engine.events,
    storePath: engine.store.path,
    dataDir: engine.dataDir,
    get backend() {
      return engine.backend
    },
    reportHostBackend: (entry) => engine.reportHostBackend(entry),
    attachGpuPage: (relay) => engine.attachGpuPage(relay),
    call: async <M extends Method>(method: M, params: Params<M>): Promise<Result<M>> => (await handler(method, params)) as Result<M>,
    onEvent: (listener: (event: ApiEvent) => void) => engine.events.subscribe(listener),
    watchExternalChanges: () => engine.watchExternalChanges(),
    close: () => engine.close()
  }
}

export type { ApiHandler } from './handler'
export type { EventBus } from '../events'
export type { GpuPageRelay, GpuReplicaRequest } from '../training/gpu-page-gradients'
export { createApiHandler, toApiError } from './handler'
// where things live and how a backend is asked for: the hosts resolve their flags with these
export { locateDb, defaultDataDir, resolveDbPath, uploadsDir } from '../paths'
export { backendRequestFromEnv, type BackendRequest } from '../backend/select'
export { DEFAULT_DOMAINS } from '../data'
// building a config for `runs.start` (a quick single-domain run) and the defaults flags show
export { quickRunConfig, SIZES, type SizeName } from '../training/config'
export { PRESETS } from '../training/presets'
export { DEFAULT_FINETUNE, DEFAULT_SEEDS, DEFAULT_TASK_NAMES, MAX_SEEDS, PROMPT_CHOICES } from '../downstream'
export { DEFAULT_ELLE_NOISE, DEFAULT_RAMP_STEPS } from '../growth'
// presentation of contract results
export { formatFlops, formatParams, formatScore, formatSeconds, formatValue, renderReport } from '../compare'
export { lifelongSummary } from '../metrics/lifelong'
