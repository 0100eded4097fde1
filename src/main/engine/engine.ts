// The engine: store, backend, event bus and trainer host behind one object. It knows nothing of
// Electron or HTTP; transports (IPC, HTTP/WebSocket, CLI) adapt it.
import fs from 'node:fs'
import path from 'node:path'
import {
  RunProgress,
  type BackendReport,
  HostBackendCandidate,
  type DesignEstimate,
  type SavedExperiment,
  type SavedExperimentSummary,
  type CheckpointSummary,
  type DomainDetail,
  type DomainSummary,
  type JobSummary,
  type Params,
  QUEUE_START_PRIORITY,
  QUEUE_SWEEP_MAX,
  type RunStatus,
  type RunSummary
} from '../../shared/contract'
import { streamDifference } from './compare/compare'
import { isOverview, querySeries } from './series/query'
import { SeriesWarmer } from './series/warm'
import type { SeriesQuery, SeriesResult } from '../../shared/series'
import { selectBackend, type BackendRequest } from './backend/select'
import { EventBus } from './events'
import { defaultDataDir, uploadFolderOf } from './paths'
import { ExperimentStore, StoreError } from './store/store'
import { DEFAULT_DOMAINS } from './data'
import { BUILTIN_STREAM_NAME } from './training/data'
import { ConfigError, parseRunConfig, type RunConfig } from './training/config'
import { checkRunResources, describeBudget, estimateRun, machineBudget, type MemoryBudget } from './resources'
import { METHOD_NAMES, RunConfig as RunConfigSchema, type RunConfigInput } from '../../shared/run-config'
import { DomainInputError, TrainerHost, type TrainerHostOptions } from './training/host'
import { describeDomain, renameUserDomain, type AddedDomain } from './training/data'
import { jobResult } from '../../shared/jobs'
import { listRunCheckpoints } from './jobs/checkpoints'
import { JobHost } from './jobs/host'
import { jobRequest, type JobMethod, type JobParams, type JobRequest } from './jobs/start'
import { QueueInputError, RunQueue, type QueueMode } from './queue/queue'
import { isMethodName, sweepPoints } from '../../shared/queue'
import { PRESETS } from './training/presets'
import type { GpuPageRelay } from './training/gpu-page-gradients'

export interface EngineOptions {
  dbPath: string
  /** where corpora, caches and checkpoints live (default: the platform's data directory) */
  dataDir?: string
  backend?: BackendRequest
  /** mark runs left running by a dead process as failed (off for read-only tools) */
  recoverOrphans?: boolean
  /**
   * open the store read-only (no migration, no journal-mode change, nothing recovered or registered): for
   * clients that only read (`elle runs`, `elle compare`), which then work on read-only media too
   */
  readonly?: boolean
  /** prepare the built-in default stream in the background if the store does not list it yet (the app does) */
  prepareDefaultStream?: boolean
  log?: (runId: number, message: string) => void
  /** run ownership and locked-store timing (tests shorten them; see TrainerHostOptions) */
  training?: Pick<TrainerHostOptions, 'busy' | 'heartbeatMs' | 'staleSeconds' | 'workerLimits'>
  /** the memory a new run may plan for (default: this machine's, read at each start); tests inject one */
  memoryBudget?: () => MemoryBudget
  /**
   * the run queue: a runner (default: the workbench, elle serve, elle worker) trains every entry in order;
   * 'own' (elle run and the other commands) trains only the runs it starts itself, at once. A fake clock and
   * the tick period for tests.
   */
  queue?: { mode?: QueueMode; clock?: () => number; tickMs?: number; hookTimeoutMs?: number }
}

export class Engine {
  readonly events = new EventBus()
  readonly host: TrainerHost
  /** every long operation besides training: evaluate, fine-tune, grow, export, import, add a domain */
  readonly jobs: JobHost
  /** the persistent run queue every run trains through (docs/queue.md) */
  readonly queue: RunQueue

  private constructor(
    readonly store: ExperimentStore,
    private report: BackendReport,
    readonly dataDir: string,
    private readonly backendRequest: BackendRequest,
    log?: (runId: number, message: string) => void,
    training: EngineOptions['training'] = {},
    private readonly memoryBudget: () => MemoryBudget = () => machineBudget({ backend: report.active }),
    queue: EngineOptions['queue'] = {}
  ) {
    const mode = queue.mode ?? 'runner'
    this.queue = new RunQueue({
      store,
      host: () => this.host,
      jobs: () => this.jobs,
      events: this.events,
      setStatus: (id, status, details) => this.setRunStatus(id, status, details),
      backend: report.active,
      mode,
      clock: queue.clock,
      tickMs: queue.tickMs,
      hookTimeoutMs: queue.hookTimeoutMs,
      log: (message) => console.error(message)
    })
    this.host = new TrainerHost({
      // a runner's slots are the queue's to count (across processes); the host starts what the queue hands it
      ...(mode === 'runner' ? { concurrency: Number.MAX_SAFE_INTEGER, pauseOnClose: true } : {}),
      onStarted: (runId) => this.queue.onStarted(runId),
      onEnded: (run, ended) => this.queue.onEnded(run, ended),
      store,
      events: this.events,
      dbPath: store.path,
      dataDir,
      backend: backendRequest,
      setStatus: (id, status, details) => this.setRunStatus(id, status, details),
      gpuPage: () => this.gpuPage,
      log,
      ...training
    })
    this.jobs = new JobHost({ store, events: this.events, dbPath: store.path, dataDir, backend: backendRequest, onUpdated: (job) => this.queue.onJobUpdated(job) })
  }

  /** the host's GPU page (attachGpuPage), or null */
  private gpuPage: GpuPageRelay | null = null

  /**
   * The host's GPU page (Electron's GPU window, when its probe kept it), or null when it is gone: runs started from now
   * on compute their gradients there (docs/webgpu.md, "Training through the GPU window"); running runs keep theirs.
   */
  attachGpuPage(relay: GpuPageRelay | null): void {
    this.gpuPage = relay
  }

  /** the backend report: the engine's choice at start, plus what its host reported since (reportHostBackend) */
  get backend(): BackendReport {
    return this.report
  }

  /**
   * A host's entry for a backend it provides outside the engine's tfjs (Electron's GPU window), reported when the host
   * has probed it: it replaces the report's entry of the same name (or is added), and clients get the new report
   * (event backend.changed). The active backend does not change: the host's backend trains only where the entry says
   * so (host.trains: the GPU window computes the gradients of runs started while it is attached, attachGpuPage).
   */
  reportHostBackend(entry: HostBackendCandidate): BackendReport {
    const candidate = HostBackendCandidate.parse(entry)
    const candidates = this.report.candidates.some((c) => c.name === candidate.name)
      ? this.report.candidates.map((c) => (c.name === candidate.name ? candidate : c))
      : [...this.report.candidates, candidate]
    this.report = { ...this.report, candidates }
    this.events.publish({ type: 'backend.changed', backend: this.report })
    return this.report
  }

  private watcher: NodeJS.Timeout | null = null
  /** reads the full series behind an overview after it was answered (src/main/engine/series/warm.ts) */
  private readonly warmer = new SeriesWarmer((runId, name, x) => this.store.series.columns(runId, name, x))

  /**
   * Publish changes other processes make to the store (a run started with `elle run` while the workbench
   * is open): SQLite's data_version tells when another connection committed; changed runs are diffed.
   */
  watchExternalChanges(intervalMs = 1000): void {
    if (this.watcher) return
    let version = this.store.dataVersion
    let known = new Map(this.store.listRuns().map((r) => [r.id, JSON.stringify(r)]))
    // domains and streams are few: compared whole (an `elle domains add` in a terminal)
    let domains = JSON.stringify(this.store.listDomains())
    let streams = JSON.stringify(this.store.listStreams())
    let saved = JSON.stringify(this.store.listSavedExperiments())
    this.watcher = setInterval(() => {
      const now = this.store.dataVersion
      if (now === version) return
      version = now
      const domainsNow = JSON.stringify(this.store.listDomains())
      if (domainsNow !== domains) this.events.publish({ type: 'domains.changed' })
      domains = domainsNow
      const streamsNow = JSON.stringify(this.store.listStreams())
      if (streamsNow !== streams) this.events.publish({ type: 'streams.changed' })
      streams = streamsNow
      const savedNow = JSON.stringify(this.store.listSavedExperiments())
      if (savedNow !== saved) this.events.publish({ type: 'experiments.changed' })
      saved = savedNow
      const runs = this.store.listRuns()
      for (const run of runs) {
        const json = JSON.stringify(run)
        if (known.get(run.id) === json) {
          // unchanged status; a run trained elsewhere still reports its progress through its heartbeat
          if (run.status === 'running' && !this.host.activeRuns.includes(run.id)) {
            const progress = RunProgress.safeParse(this.store.runProgress(run.id))
            if (progress.success) this.events.publish({ type: 'run.progress', progress: progress.data })
          }
          continue
        }
        this.events.publish({ type: 'run.updated', run })
      }
      known = new Map(runs.map((r) => [r.id, JSON.stringify(r)]))
    }, intervalMs)
    this.watcher.unref()
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const backendRequest = options.backend ?? {}
    const backend = await selectBackend(backendRequest)
    const store = ExperimentStore.open(options.dbPath, options.readonly ? { readonly: true } : {})
    const busyTimeoutMs = options.training?.busy?.busyTimeoutMs
    if (busyTimeoutMs !== undefined) store.db.pragma(`busy_timeout = ${Math.round(busyTimeoutMs)}`)
    const engine = new Engine(
      store,
      backend,
      path.resolve(options.dataDir ?? defaultDataDir()),
      { ...backendRequest, flag: backend.active },
      options.log,
      options.training,
      options.memoryBudget,
      options.queue
    )
    if (options.readonly) return engine
    if (options.recoverOrphans ?? true) {
      engine.queue.recover(engine.host.recoverOrphans())
      engine.jobs.recoverOrphans()
    }
    if (engine.queue.mode === 'runner') {
      engine.queue.startTimer()
      engine.queue.tick()
    }
    // a store whose default domains were registered before streams were used gets its built-in stream now
    if (DEFAULT_DOMAINS.every((name) => store.findDomain(name)?.builtin)) store.ensureBuiltinStream(BUILTIN_STREAM_NAME, DEFAULT_DOMAINS)
    if (options.prepareDefaultStream && !store.listDomains().some((d) => d.builtin)) {
      const job = engine.startJob('streams.prepareDefault', {})
      void engine.jobs.waitFor(job.id).then((ended) => {
        if (ended.status === 'failed') console.error(`the built-in default stream could not be prepared: ${ended.error}`)
      })
    }
    return engine
  }

  /** Queue a run of the experiment with this config (created on first use, found by hash after). */
  createRun(experimentName: string, config: unknown, streamId: number | null = null): RunSummary {
    const experiment = this.store.ensureExperiment(experimentName, config)
    const run = this.store.createRun(experiment.id, { backend: this.backend.active, streamId })
    this.events.publish({ type: 'run.updated', run })
    return run
  }

  /**
   * Validate a training config and queue a run of it. An earlier unfinished run of the same experiment
   * is offered for resumption instead (a conflict naming it) unless `fresh` asks for a new run.
   */
  startRun(rawConfig: unknown, options: { fresh?: boolean; stream?: number | string } = {}): RunSummary {
    const run = this.createCheckedRun(this.checkRun(rawConfig, options), options)
    // at the top of the queue (after other started runs); it starts now unless the queue holds it back
    this.queue.enqueue(run.id, { priority: QUEUE_START_PRIORITY, reserve: this.queue.mode === 'own' })
    this.queue.tick()
    return run
  }

  /** Everything runs.start checks before a run is stored: the config, its domains and stream, the memory it needs. */
  private checkRun(rawConfig: unknown, options: { stream?: number | string }, source = 'config'): { config: RunConfig; streamId: number | null } {
    const config: RunConfig = parseRunConfig(rawConfig, source)
    const known = new Set([...DEFAULT_DOMAINS, ...this.store.listDomains().map((d) => d.name)])
    config.stages.forEach((stage, i) => {
      if (!known.has(stage.domain)) throw new ConfigError(`${source}: stages.${i}.domain: unknown domain "${stage.domain}"; known domains: ${[...known].join(', ')}`)
    })
    const streamId = this.streamOf(config, options.stream)
    // before anything is stored: a run the machine cannot hold is refused with its estimate
    checkRunResources(config, { budget: this.memoryBudget(), source })
    return { config, streamId }
  }

  /** Store a checked run (status queued); an earlier unfinished run of the experiment is offered instead unless `fresh`. */
  private createCheckedRun({ config, streamId }: { config: RunConfig; streamId: number | null }, options: { fresh?: boolean }): RunSummary {
    const experiment = this.store.ensureExperiment(config.name, config)
    const unfinished = this.store.unfinishedRuns(experiment.id).filter((r) => this.store.listCheckpoints(r.id).length > 0)
    if (unfinished.length > 0 && !options.fresh) {
      const run = unfinished[0]!
      const step = this.store.listCheckpoints(run.id).at(-1)!.step
      throw new ResumableRunError(run, step)
    }
    return this.createRun(config.name, config, streamId)
  }

  // ---- the run queue (docs/queue.md) -----------------------------------------------------------

  /** The config a queue entry or sweep names: given, a preset by name, or a saved experiment by id. */
  private queueSource(p: { config?: unknown; preset?: string; savedExperiment?: number }): { config: unknown; source: string } {
    if (p.preset !== undefined) {
      const preset = PRESETS.find((x) => x.name === p.preset)
      if (!preset) throw new QueueInputError(`preset: no preset named "${p.preset}"; presets: ${PRESETS.map((x) => x.name).join(', ')}`)
      return { config: preset.config, source: `preset ${p.preset}` }
    }
    if (p.savedExperiment !== undefined) return { config: this.store.getSavedExperiment(p.savedExperiment).config, source: `saved experiment ${p.savedExperiment}` }
    return { config: p.config, source: 'config' }
  }

  /** queue.add: check everything, then store the run and its entry; nothing is stored when anything is refused. */
  queueAdd(p: Params<'queue.add'>): RunSummary {
    this.queue.checkEntry({ after: p.after, afterJobs: p.afterJobs, budget: p.budget })
    const { config, source } = this.queueSource(p)
    const run = this.createCheckedRun(this.checkRun(config, { stream: p.stream }, source), { fresh: p.fresh })
    this.queue.enqueue(run.id, { priority: p.priority, after: p.after, afterJobs: p.afterJobs, group: p.group, budget: p.budget })
    this.queue.tick()
    return run
  }

  /** queue.sweep: every point of the cross product is checked before any is queued. */
  queueSweep(p: Params<'queue.sweep'>): RunSummary[] {
    this.queue.checkEntry({ budget: p.budget })
    for (const [i, name] of (p.methods ?? []).entries()) {
      if (!isMethodName(name)) throw new QueueInputError(`methods.${i}: unknown method "${name}"; known methods: ${METHOD_NAMES.join(', ')}`)
    }
    const { config, source } = this.queueSource(p)
    const base = parseRunConfig(config, source)
    const points = sweepPoints(base, p.group, { methods: p.methods, seeds: p.seeds, options: p.options })
    if (points.length > QUEUE_SWEEP_MAX) throw new QueueInputError(`the sweep has ${points.length} runs; at most ${QUEUE_SWEEP_MAX} are queued at once`)
    const checked = points.map((point) => this.checkRun(point.config, { stream: p.stream }, `sweep run "${point.config.name}"`))
    const runs = checked.map((c) => this.createCheckedRun(c, { fresh: true }))
    for (const run of runs) this.queue.enqueue(run.id, { priority: p.priority, group: p.group, budget: p.budget })
    this.queue.tick()
    return runs
  }

  /**
   * The stream a run of this config records: the one named (which must list the stages' domains in order),
   * else the stream whose domains are exactly the stages' (the built-in one first), else none (null).
   */
  private streamOf(config: RunConfig, requested: number | string | undefined): number | null {
    const domains = config.stages.map((s) => s.domain)
    if (requested === undefined) return this.store.matchStream(domains)?.id ?? null
    const stream = this.store.findStream(requested)
    if (!stream) throw new StoreError('not_found', `stream: no stream ${typeof requested === 'number' ? `with id ${requested}` : `named "${requested}"`}`)
    const diff = streamDifference(stream.domains, domains)
    if (diff !== null) throw new ConfigError(`stream: the config's stages do not follow stream "${stream.name}": ${diff} (stream vs config)`)
    return stream.id
  }

  /** Make a change to the streams and tell every client. */
  changeStreams<T>(change: () => T): T {
    const result = change()
    this.events.publish({ type: 'streams.changed' })
    return result
  }

  /** Save a designed experiment (create or replace by id) and tell every client. */
  saveExperiment(input: { id?: number; name: string; config: RunConfigInput }): SavedExperiment {
    const saved = this.store.saveExperiment(input)
    this.events.publish({ type: 'experiments.changed' })
    return saved
  }

  deleteSavedExperiment(id: number): SavedExperimentSummary {
    const deleted = this.store.deleteSavedExperiment(id)
    this.events.publish({ type: 'experiments.changed' })
    return deleted
  }

  /**
   * The designer's machine facts: throughput measured on this backend, and (for a config the schema accepts) the
   * memory estimate of each stage against this machine's budget, as runs.start would check it.
   */
  designEstimate(rawConfig: unknown): DesignEstimate {
    const budget = this.memoryBudget()
    const parsed = rawConfig === undefined ? null : RunConfigSchema.safeParse(rawConfig)
    const estimate = parsed?.success ? estimateRun(parsed.data) : null
    return {
      backend: this.backend.active,
      samples: this.store.throughputSamples(this.backend.active),
      stageBytes: estimate ? estimate.stages.map((s) => s.bytes.total) : null,
      stageTensorBytes: estimate ? estimate.stages.map((s) => s.bytes.tensors) : null,
      tensorCapBytes: budget.tensorCap?.bytes ?? null,
      budgetBytes: budget.bytes,
      budgetText: describeBudget(budget)
    }
  }

  /** domains.get: one domain's facts (see describeDomain). */
  getDomain(ref: number | string): DomainDetail {
    return describeDomain(this.store, this.dataDir, ref)
  }

  /** Rename a domain no run trained on; streams follow it, saved experiments are renamed with it. */
  renameDomain(ref: number | string, newName: string): DomainSummary {
    const { domain, savedChanged } = renameUserDomain(this.store, this.dataDir, ref, newName)
    this.events.publish({ type: 'domains.changed' })
    this.events.publish({ type: 'streams.changed' })
    if (savedChanged > 0) this.events.publish({ type: 'experiments.changed' })
    return domain
  }

  /**
   * Delete a domain no run or stream uses (the store refuses otherwise, naming them). A corpus uploaded in browser
   * mode (staged under the data directory's uploads/) goes with it, unless another domain reads the same upload.
   */
  deleteDomain(ref: number | string): DomainSummary {
    const source = this.store.domainByRef(ref).source as { paths?: unknown } | null
    const domain = this.store.deleteDomain(ref)
    const paths = Array.isArray(source?.paths) ? source.paths.filter((p): p is string => typeof p === 'string') : []
    const folders = new Set(paths.map((p) => uploadFolderOf(this.dataDir, p)).filter((f): f is string => f !== null))
    if (folders.size > 0) {
      const stillRead = new Set(
        this.store
          .listDomains()
          .flatMap((d) => (this.store.findDomain(d.name)?.source as { paths?: unknown } | null)?.paths ?? [])
          .filter((p): p is string => typeof p === 'string')
          .map((p) => uploadFolderOf(this.dataDir, p))
      )
      for (const folder of folders) if (!stillRead.has(folder)) fs.rmSync(folder, { recursive: true, force: true })
    }
    this.events.publish({ type: 'domains.changed' })
    return domain
  }

  resumeRun(id: number): RunSummary {
    const run = this.store.getRun(id)
    if (!['failed', 'cancelled', 'paused'].includes(run.status)) {
      throw new StoreError('invalid', `run ${id} is ${run.status}; only failed, cancelled or paused runs can be resumed`)
    }
    // this machine may have less memory now than when the run was created: refuse before it is queued
    const source = `experiment ${run.experimentId} config`
    checkRunResources(parseRunConfig(this.store.getExperimentConfig(run.experimentId), source), { budget: this.memoryBudget(), source })
    const resumed = this.queue.resume(id)
    this.queue.tick()
    return resumed
  }

  /** Cancel a run trained here, queued anywhere, or trained by another process (through its heartbeat). */
  cancelRun(id: number): RunSummary {
    return this.host.cancel(id)
  }

  // ---- jobs and checkpoints ------------------------------------------------------------------

  /** Start a job (contract params, already validated); unknown checkpoint or run ids are not_found. */
  startJob<M extends JobMethod>(method: M, params: JobParams<M>): JobSummary {
    const request = jobRequest(this.store, this.dataDir, method, params)
    return this.jobs.start(request.kind, request.params, request.work)
  }

  /**
   * queue.addJob: record the job now (status queued, its ids resolved: unknown ones are refused here) and put it
   * in the queue with the work its worker will get; a queue runner starts it when its turn comes.
   */
  queueAddJob(p: Params<'queue.addJob'>): JobSummary {
    this.queue.checkEntry({ after: p.after, afterJobs: p.afterJobs })
    const request: JobRequest =
      p.job.method === 'domains.addJob'
        ? (() => {
            const recorded = { ...p.job.params, paths: p.job.params.paths.map((x) => path.resolve(x)) }
            return { kind: 'domain.add', params: recorded, work: () => recorded }
          })()
        : jobRequest(this.store, this.dataDir, p.job.method, p.job.params as never)
    const job = this.queue.db.transaction(() => {
      const created = this.store.createJob(request.kind, request.params, null)
      this.queue.db.addJob(created.id, { priority: p.priority ?? 0, after: p.after ?? [], afterJobs: p.afterJobs ?? [], group: p.group ?? null, work: request.work(created.id) })
      return created
    })
    this.events.publish({ type: 'job.updated', job })
    this.queue.onJobUpdated(job)
    return job
  }

  /** Start a job and wait for its end (what the CLI does): the ended job, whatever its status. */
  async runJob<M extends JobMethod>(method: M, params: JobParams<M>): Promise<JobSummary> {
    return this.jobs.waitFor(this.startJob(method, params).id)
  }

  /** Add a corpus as a domain, as a recorded job (domains.addJob). */
  addDomainJob(params: Params<'domains.add'>): JobSummary {
    const recorded = { ...params, paths: params.paths.map((p) => path.resolve(p)) }
    return this.jobs.start('domain.add', recorded, () => recorded)
  }

  /** domains.add: the same job, awaited; its result as domains.add has always answered. */
  async addDomain(params: Params<'domains.add'>): Promise<AddedDomain> {
    const ended = await this.jobs.waitFor(this.addDomainJob(params).id)
    if (ended.status !== 'finished' || !ended.result) throw new DomainInputError(ended.error ?? `adding domain "${params.name}" was ${ended.status}`)
    return jobResult('domain.add', ended.result)
  }

  /** runs.series: the curves of any series of any runs (src/main/engine/series) */
  series(query: SeriesQuery): SeriesResult {
    const result = querySeries(this.store, query)
    // an overview was answered from the summaries: the points follow in the background, for the next redraw
    if (isOverview(query) && this.store.series.hasSummaries) this.warmer.warm(query.metrics.flatMap((m) => query.runs.map((id): [number, string, 'step'] => [id, m, 'step'])))
    return result
  }

  listCheckpoints(runId: number): CheckpointSummary[] {
    return listRunCheckpoints(this.store, runId)
  }

  setRunStatus(id: number, status: RunStatus, details: { error?: string | null; owner?: string } = {}): RunSummary {
    const run = this.store.setRunStatus(id, status, details)
    this.events.publish({ type: 'run.updated', run })
    return run
  }

  async close(): Promise<void> {
    this.queue.close()
    this.warmer.stop()
    if (this.watcher) clearInterval(this.watcher)
    await this.jobs.close()
    await this.host.close()
    this.store.close()
  }
}

export class ResumableRunError extends Error {
  constructor(
    readonly run: RunSummary,
    readonly step: number
  ) {
    super(
      `run ${run.id} of experiment "${run.experimentName}" stopped at step ${step} (${run.status}${run.error ? `: ${run.error}` : ''}); resume it with "elle run --resume ${run.id}" or start a new run with --fresh`
    )
    this.name = 'ResumableRunError'
  }
}
