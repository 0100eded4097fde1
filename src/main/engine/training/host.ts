// The trainer host: a queue of runs, each trained in its own worker thread so the serving thread stays
// responsive. It owns run status changes (through the engine, which publishes them), holds a lease on each
// run it trains (claimed in one transaction, renewed by its heartbeat; every write of the run is
// conditional on it), and on start marks runs whose owner died or whose lease expired (kill -9, crash,
// power cut, a process stopped for longer than the lease) as failed-resumable.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Worker, type ResourceLimits } from 'node:worker_threads'
import type { RunProgress, RunStatus, RunSummary } from '../../../shared/contract'
import type { BackendRequest } from '../backend/select'
import type { EventBus } from '../events'
import { mainBundle } from '../install-paths'
import { trainingWorkerResourceLimits, workerResourceLimits } from '../resources'
import { busyPolicy, isBusyError, isDiskFullError, StoreLockedError, whenStoreFree, withBusyTimeout, type BusyPolicy } from '../store/busy'
import { LEASE_SECONDS, LeaseLostError, SlotsBusyError, StoreError, type ExperimentStore } from '../store/store'
import type { AddedDomain } from './data'
import type { GpuPageRelay } from './gpu-page-gradients'
import type { AddDomainJob, HostToWorker, WorkerToHost } from './protocol'
import { parseRunConfig } from './config'
import { runDirOf, type RunOutcome } from './run'

/** A corpus or domain name the user gave could not be added (the message names the file, line or field). */
export class DomainInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DomainInputError'
  }
}

export const workerFile = (): string => mainBundle('train-worker.js')

export interface TrainerHostOptions {
  store: ExperimentStore
  events: EventBus
  dbPath: string
  dataDir: string
  backend: BackendRequest
  /** with `owner`, only while that process owns the run (store.setRunStatus) */
  setStatus(id: number, status: RunStatus, details?: { error?: string | null; owner?: string }): RunSummary
  /** runs trained at once (default 1: on a 2-core laptop the other core serves the UI); the run queue decides when it owns the order */
  concurrency?: number | (() => number)
  /** a run's worker started in this process */
  onStarted?: (runId: number) => void
  /** a run trained here ended (finished, failed, cancelled, paused on request, or lost), after its status was written */
  onEnded?: (run: RunSummary, ended: { status: RunOutcome['status'] | 'paused'; pausedFor: string | null }) => void
  /** at close, pause running runs (status paused, resumed by the next start) and leave queued ones queued, instead of cancelling both */
  pauseOnClose?: boolean
  /** seconds without a heartbeat after which a running run is considered orphaned (its lease; default 60) */
  staleSeconds?: number
  /** how writes wait for a store another process holds locked (tests shorten it) */
  busy?: Partial<BusyPolicy>
  /** how often the owner renews its runs' leases (default 5 s) */
  heartbeatMs?: number
  log?: (runId: number, message: string) => void
  /**
   * The host's GPU page (Electron's GPU window, once its probe kept it), or null: a run started while there is one
   * computes its gradients there (one run at a time; the host relays its worker's requests).
   */
  gpuPage?: () => GpuPageRelay | null
  /** the training worker's heap limits from its stored config (default: sized from the run's estimate) */
  workerLimits?: (config: unknown) => ResourceLimits
}

interface ActiveRun {
  worker: Worker
  /** threads the run trains with (its training.workers): what it takes of the host's capacity */
  slots: number
  progress: RunProgress | null
  cancelRequested: boolean
  /** asked to stop at a checkpoint and become paused (the queue's window closed, the queue was paused, its budget ran out) */
  pauseFor: string | null
  /** another process took the run over (this one stalled): stop without writing anything more */
  lost: string | null
  /** since when the heartbeat has found the store locked (logged once per busy period) */
  busySince: number | null
  done: Promise<RunSummary>
}

const HEARTBEAT_MS = 5_000
/** the longest the serving thread waits inside SQLite for a locked store before retrying later */
const SERVING_BUSY_MS = 250
const CANCEL_GRACE_MS = 60_000

/** Is the process that owns a run gone? Only decidable for owners on this machine. */
export function ownerIsDead(owner: string | null): boolean {
  if (!owner) return false
  const [host, pid] = owner.split(':')
  if (host !== os.hostname() || !pid) return false
  try {
    process.kill(Number(pid), 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

export class TrainerHost {
  readonly owner = `${os.hostname()}:${process.pid}:${randomUUID()}`
  private readonly active = new Map<number, ActiveRun>()
  private readonly queue: number[] = []
  /** the run queue's slot count for runs it started, checked when each is claimed */
  private readonly slotLimits = new Map<number, number>()
  private readonly waiters = new Map<number, Array<(run: RunSummary) => void>>()
  private readonly heartbeat: NodeJS.Timeout
  private closed = false
  private preparing: Worker | null = null
  /** the run training through the GPU page (one at a time) */
  private gpuRun: number | null = null
  /** a run could not be started because the store was locked: when, and the timer that tries again */
  private startBusy: { runId: number; since: number; delay: number; timer: NodeJS.Timeout | null } | null = null

  private readonly busy: BusyPolicy
  private readonly reserve: DiskReserve

  constructor(private readonly options: TrainerHostOptions) {
    this.busy = busyPolicy(options.busy)
    this.reserve = new DiskReserve(options.dbPath)
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs ?? HEARTBEAT_MS)
    this.heartbeat.unref()
  }

  /** Runs left "running" by a process that is gone: mark them failed, with how to resume. */
  recoverOrphans(): RunSummary[] {
    const recovered: RunSummary[] = []
    const { store } = this.options
    const leaseSeconds = this.options.staleSeconds ?? LEASE_SECONDS
    const stale = store.orphanedRuns(leaseSeconds)
    // A run whose owner process on this machine is gone is orphaned at once (kill -9), heartbeat or not.
    const dead = store.listRuns({ status: 'running' }).filter((r) => !stale.some((s) => s.id === r.id) && ownerIsDead(store.runOwner(r.id)))
    for (const run of [...stale, ...dead]) {
      // Taken from its owner in one statement: an owner that renewed its lease meanwhile keeps the run,
      // and one that wakes up later finds it is no longer the owner and stops without writing.
      if (!store.releaseOrphan(run.id, { leaseSeconds, deadOwner: dead.includes(run) ? store.runOwner(run.id) : null })) continue
      const checkpoint = this.options.store.listCheckpoints(run.id).at(-1)
      const where = checkpoint ? `; resume from its checkpoint at step ${checkpoint.step} with "elle run --resume ${run.id}"` : ''
      recovered.push(this.options.setStatus(run.id, 'failed', { error: `interrupted: the process training it stopped unexpectedly${where}` }))
    }
    return recovered
  }

  /**
   * Queue a run (status queued) and start it when a slot is free. `slots`: the run queue's slot count, checked
   * against every process's runs when the run is claimed (it stays queued when they are all taken).
   */
  enqueue(runId: number, options: { slots?: number } = {}): void {
    if (this.closed) throw new Error('the trainer host is shut down')
    if (this.queue.includes(runId) || this.active.has(runId)) return
    if (options.slots !== undefined) this.slotLimits.set(runId, options.slots)
    this.queue.push(runId)
    this.pump()
  }

  /** Resume a failed, cancelled or paused run from its newest checkpoint. */
  resume(runId: number): RunSummary {
    // a cancel asked for while the run was stopping must not cancel its next attempt
    this.options.store.clearRunCancelRequest(runId)
    const run = this.options.setStatus(runId, 'queued')
    this.enqueue(runId)
    return run
  }

  /**
   * Stop a run at its next update with a checkpoint and mark it paused (`reason` is handed to onEnded): a
   * queued one in this host's queue just leaves it (it stays queued). False when it is not trained here.
   */
  pause(runId: number, reason: string): boolean {
    const queued = this.queue.indexOf(runId)
    if (queued >= 0) {
      this.queue.splice(queued, 1)
      return true
    }
    const active = this.active.get(runId)
    if (!active || active.cancelRequested) return false
    if (active.pauseFor !== null) return true
    active.pauseFor = reason
    active.worker.postMessage({ type: 'cancel' } satisfies HostToWorker)
    setTimeout(() => void active.worker.terminate(), CANCEL_GRACE_MS).unref()
    return true
  }

  /** Is this run queued or training in this process? */
  has(runId: number): boolean {
    return this.active.has(runId) || this.queue.includes(runId)
  }

  cancel(runId: number): RunSummary {
    const queued = this.queue.indexOf(runId)
    if (queued >= 0) {
      this.queue.splice(queued, 1)
      const run = this.options.setStatus(runId, 'cancelled')
      this.notify(run)
      return run
    }
    const active = this.active.get(runId)
    if (!active) return this.cancelElsewhere(runId)
    active.cancelRequested = true
    active.pauseFor = null
    active.worker.postMessage({ type: 'cancel' } satisfies HostToWorker)
    // A worker stuck in one long tensor operation still stops: checkpoints are atomic, so the last one is intact.
    setTimeout(() => void active.worker.terminate(), CANCEL_GRACE_MS).unref()
    return this.options.store.getRun(runId)
  }

  /**
   * A run this process does not train: a queued one (in no queue here) is cancelled in the store; a running
   * one gets a cancel request its owner's heartbeat reads (within heartbeatMs) and acts on. When the owner
   * is gone there is nobody to ask: recovery marks the run failed and the caller is told so.
   */
  private cancelElsewhere(runId: number): RunSummary {
    const { store } = this.options
    const run = store.getRun(runId)
    if (run.status === 'queued' || run.status === 'paused') {
      const cancelled = this.options.setStatus(runId, 'cancelled')
      this.notify(cancelled)
      return cancelled
    }
    if (run.status !== 'running') return run
    const owner = store.runOwner(runId)
    const recovered = this.recoverOrphans().some((r) => r.id === runId)
    if (recovered || owner === null) {
      throw new StoreError(
        'conflict',
        `run ${runId} cannot be cancelled: the process that trained it (${owner ?? 'unknown'}) is gone${recovered ? '; the run was marked failed and can be resumed' : ''}`
      )
    }
    store.requestRunCancel(runId)
    this.options.log?.(runId, `asked the process training run ${runId} (${owner}) to cancel it`)
    return store.getRun(runId)
  }

  /** Prepare the built-in default stream in a worker; resolves with an error message or null. */
  prepareDefaultStream(): Promise<string | null> {
    const file = workerFile()
    if (!fs.existsSync(file)) return Promise.resolve(`the training worker is not built (${file} is missing)`)
    const worker = new Worker(file, { resourceLimits: workerResourceLimits(null) })
    this.preparing = worker
    worker.once('exit', () => {
      if (this.preparing === worker) this.preparing = null
    })
    return new Promise((resolve) => {
      worker.once('exit', () => resolve('stopped before the stream was prepared'))
      worker.on('message', (message: WorkerToHost) => {
        if (message.type !== 'prepared') return
        if (message.error === null) this.options.events.publish({ type: 'domains.changed' })
        void worker.terminate()
        resolve(message.error)
      })
      worker.on('error', (error) => resolve(error.message))
      worker.postMessage({ type: 'prepare', dbPath: this.options.dbPath, dataDir: this.options.dataDir } satisfies HostToWorker)
    })
  }

  /** Validate, tokenize and register a user corpus in a worker (tokenizing is too slow for the serving thread). */
  addDomain(input: Omit<AddDomainJob, 'dbPath' | 'dataDir'>): Promise<AddedDomain> {
    const file = workerFile()
    if (!fs.existsSync(file)) return Promise.reject(new Error(`the training worker is not built (${file} is missing)`))
    const worker = new Worker(file, { resourceLimits: workerResourceLimits(null) })
    return new Promise<AddedDomain>((resolve, reject) => {
      worker.on('message', (message: WorkerToHost) => {
        if (message.type !== 'domain-added') return
        void worker.terminate()
        if (message.result) {
          this.options.events.publish({ type: 'domains.changed' })
          resolve(message.result)
        } else reject(new DomainInputError(message.error ?? 'the domain could not be added'))
      })
      worker.on('error', reject)
      worker.postMessage({ type: 'add-domain', job: { ...input, dbPath: this.options.dbPath, dataDir: this.options.dataDir } } satisfies HostToWorker)
    })
  }

  progressOf(runId: number): RunProgress | null {
    return this.active.get(runId)?.progress ?? null
  }

  /** Resolves when the run reaches finished, failed or cancelled. */
  waitFor(runId: number): Promise<RunSummary> {
    const run = this.options.store.getRun(runId)
    if (run.status === 'finished' || run.status === 'failed' || run.status === 'cancelled') {
      if (!this.queue.includes(runId) && !this.active.has(runId)) return Promise.resolve(run)
    }
    return new Promise((resolve) => this.waiters.set(runId, [...(this.waiters.get(runId) ?? []), resolve]))
  }

  get activeRuns(): number[] {
    return [...this.active.keys()]
  }

  /** Stop everything: cancel active runs (they checkpoint) and wait for their workers to end. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.heartbeat)
    if (this.startBusy?.timer) clearTimeout(this.startBusy.timer)
    // The stream manifest is written last, so a stopped preparation simply starts over next time.
    await this.preparing?.terminate()
    if (this.options.pauseOnClose) this.queue.length = 0
    for (const id of [...this.queue]) this.cancel(id)
    const pending = [...this.active.entries()].map(([id, a]) => {
      if (this.options.pauseOnClose && !a.cancelRequested) this.pause(id, 'shutdown')
      else this.cancel(id)
      return a.done
    })
    await Promise.allSettled(pending)
    this.reserve.release()
  }

  /** Threads the active runs train with, and how many the host runs at once (`concurrency`, default 1). */
  slots(): { used: number; capacity: number } {
    let used = 0
    for (const run of this.active.values()) used += run.slots
    const { concurrency = 1 } = this.options
    return { used, capacity: typeof concurrency === 'function' ? concurrency() : concurrency }
  }

  /** A run's configured worker threads (1 when its config does not parse: the worker reports that). */
  private slotsOf(runId: number): number {
    try {
      const { store } = this.options
      return parseRunConfig(store.getExperimentConfig(store.getRun(runId).experimentId)).training.workers
    } catch {
      return 1
    }
  }

  private pump(): void {
    while (!this.closed && !this.startBusy?.timer && this.queue.length > 0) {
      // a run counts one slot per worker thread; one wider than the whole capacity still runs, alone
      const { used, capacity } = this.slots()
      if (this.active.size > 0 && used + this.slotsOf(this.queue[0]!) > capacity) break
      this.start(this.queue.shift()!)
    }
  }

  private start(runId: number): void {
    const { store, dbPath, dataDir, backend } = this.options
    const file = workerFile()
    try {
      withBusyTimeout(store.db, Math.min(SERVING_BUSY_MS, this.busy.busyTimeoutMs), () => {
        const slots = this.slotLimits.get(runId)
        this.slotLimits.delete(runId)
        store.claimRun(runId, this.owner, runDirOf(dataDir, dbPath, runId), this.options.staleSeconds ?? LEASE_SECONDS, slots)
        this.options.setStatus(runId, 'running', { owner: this.owner })
      })
      this.startBusy = null
    } catch (error) {
      let failure: unknown = error
      if (isBusyError(error)) {
        // Locked by another process: try again with backoff (the run stays queued), up to the stated timeout.
        const busy = this.startBusy?.runId === runId ? this.startBusy : { runId, since: Date.now(), delay: this.busy.initialDelayMs, timer: null }
        if (Date.now() - busy.since < this.busy.timeoutMs) {
          if (busy.delay === this.busy.initialDelayMs)
            this.options.log?.(runId, `the experiment store ${store.path} is locked by another process; run ${runId} starts when it is free`)
          this.queue.unshift(runId)
          busy.timer = setTimeout(() => {
            busy.timer = null
            this.pump()
          }, busy.delay)
          busy.delay = Math.min(busy.delay * 2, this.busy.maxDelayMs)
          this.startBusy = busy
          return
        }
        this.startBusy = null
        failure = new StoreLockedError(store.path, Date.now() - busy.since)
      }
      if (error instanceof SlotsBusyError) {
        // another runner took the last slot between the queue's look and this claim: the queue starts it later
        this.options.log?.(runId, error.message)
        return
      }
      // Another process trains it, or the store stayed locked: leave the run as it is, tell whoever waits.
      const message = failure instanceof Error ? failure.message : String(failure)
      this.options.log?.(runId, `run ${runId} was not started: ${message}`)
      this.notify({ ...store.getRun(runId), error: message })
      return
    }
    if (!fs.existsSync(file)) {
      void this.finish(runId, { status: 'failed', error: `the training worker is not built (${file} is missing); run "npm run build"`, checkpoint: null })
      return
    }
    this.reserve.ensure()
    // Bounds V8's heap only (wasm and tensor memory are outside it): the estimate checked before the run
    // was stored is the real guard; this makes a runaway worker die alone instead of the whole process.
    const limits = (this.options.workerLimits ?? trainingWorkerResourceLimits)(store.getExperimentConfig(store.getRun(runId).experimentId))
    const worker = new Worker(file, { resourceLimits: limits })
    // the GPU page, if the host has one and no other run trains through it
    const offered = this.options.gpuPage?.() ?? null
    const relay = offered && this.gpuRun === null ? offered : null
    if (relay) this.gpuRun = runId
    else if (offered) this.options.log?.(runId, `the GPU window trains run ${this.gpuRun} already; run ${runId} trains on this process's backend`)
    let outcome: RunOutcome | null = null
    let resolveDone!: (run: RunSummary) => void
    const active: ActiveRun = {
      worker,
      slots: this.slotsOf(runId),
      progress: null,
      cancelRequested: false,
      pauseFor: null,
      lost: null,
      busySince: null,
      done: new Promise((r) => (resolveDone = r))
    }
    this.active.set(runId, active)
    this.options.onStarted?.(runId)

    worker.on('message', (message: WorkerToHost) => {
      if (message.type === 'progress') {
        active.progress = message.progress
        this.options.events.publish({ type: 'run.progress', progress: message.progress })
      } else if (message.type === 'log') this.options.log?.(runId, message.message)
      else if (message.type === 'gpu-request') {
        const answer = (reply: HostToWorker): void => {
          if (this.active.get(runId) === active) worker.postMessage(reply)
        }
        if (!relay) answer({ type: 'gpu-answer', id: message.id, ok: false, error: 'this run has no GPU window' })
        else
          relay.request(message.call).then(
            (result) => answer({ type: 'gpu-answer', id: message.id, ok: true, result }),
            (error: unknown) => answer({ type: 'gpu-answer', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) })
          )
      } else if (message.type === 'done') {
        outcome = message.outcome
        void worker.terminate()
      }
    })
    worker.on('error', (error) => {
      const outOfMemory = (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
      const message = outOfMemory
        ? `the training worker ran out of memory (its JavaScript heap is limited to ${limits.maxOldGenerationSizeMb} MB)`
        : `the training worker crashed: ${error.message}`
      outcome ??= { status: 'failed', error: message, checkpoint: null }
    })
    worker.on('exit', (code) => {
      this.active.delete(runId)
      if (this.gpuRun === runId) this.gpuRun = null
      const result: RunOutcome =
        outcome ??
        (active.cancelRequested || active.pauseFor !== null
          ? { status: 'cancelled', checkpoint: null }
          : { status: 'failed', error: `the training worker exited unexpectedly (code ${code})`, checkpoint: null })
      // stopped on the queue's request (not the user's cancel): paused, to continue from its checkpoint
      const pausedFor = result.status === 'cancelled' && !active.cancelRequested ? active.pauseFor : null
      const ended = active.lost !== null ? ({ status: 'lost', error: active.lost, checkpoint: null } as const) : result
      void this.finish(runId, pausedFor !== null ? { status: 'paused' } : ended).then((run) => {
        resolveDone(run)
        this.options.onEnded?.(run, { status: pausedFor !== null ? 'paused' : ended.status, pausedFor })
        this.pump()
      })
    })
    worker.postMessage({
      type: 'start',
      job: { runId, dbPath, dataDir, backend, owner: this.owner, busy: this.busy, gpu: relay ? { device: relay.device } : null }
    } satisfies HostToWorker)
  }

  /**
   * Record how a run ended, as its owner only, waiting out a locked store. A run taken over by another
   * process is left alone; when even the final status cannot be written (store locked past the timeout,
   * disk full), the run keeps its lease until it expires and recovery marks it failed.
   */
  private async finish(runId: number, outcome: RunOutcome | { status: 'paused' }): Promise<RunSummary> {
    const { store } = this.options
    let run: RunSummary
    try {
      if (outcome.status === 'lost') {
        this.options.log?.(runId, outcome.error)
        run = { ...store.getRun(runId), error: outcome.error }
        this.options.events.publish({ type: 'run.lost', run, error: outcome.error })
      } else if (outcome.status === 'failed') {
        const latest = store.listCheckpoints(runId).at(-1)
        const hint = outcome.error.includes('checkpoint') || !latest ? '' : `; last good checkpoint: ${latest.path} (step ${latest.step})`
        const error = `${outcome.error}${hint}`
        run = await this.write(() => this.reserve.write(() => this.options.setStatus(runId, 'failed', { error, owner: this.owner })))
      } else {
        const status = outcome.status
        run = await this.write(() => this.options.setStatus(runId, status, { owner: this.owner }))
      }
    } catch (error) {
      const why = isDiskFullError(error) ? `disk full: the run's end could not be recorded in ${store.path}` : error instanceof Error ? error.message : String(error)
      const reported = outcome.status === 'failed' || outcome.status === 'lost' ? `${outcome.error}; ${why}` : why
      this.options.log?.(runId, reported)
      run = { ...store.getRun(runId), status: error instanceof LeaseLostError ? store.getRun(runId).status : 'failed', error: reported }
    }
    // a paused run continues later (in this process or the next): whoever waits for its end keeps waiting
    if (run.status !== 'paused') this.notify(run)
    return run
  }

  /** A write of the serving thread: short waits inside SQLite, retried with backoff up to the timeout. */
  private write<T>(write: () => T): Promise<T> {
    const { store } = this.options
    return whenStoreFree(store.path, this.busy, () => withBusyTimeout(store.db, Math.min(SERVING_BUSY_MS, this.busy.busyTimeoutMs), write))
  }

  private notify(run: RunSummary): void {
    for (const resolve of this.waiters.get(run.id) ?? []) resolve(run)
    this.waiters.delete(run.id)
  }

  /** Renew the lease of every run trained here. Never throws: a locked store is waited out (the worker
   *  enforces the timeout on its own writes); a lost lease stops the worker before it writes again. */
  private beat(): void {
    for (const [id, active] of this.active) {
      if (active.lost !== null) continue
      try {
        if (withBusyTimeout(this.options.store.db, Math.min(SERVING_BUSY_MS, this.busy.busyTimeoutMs), () => this.options.store.heartbeat(id, this.owner, active.progress))) {
          active.busySince = null
          // another process (a workbench on the same store) asked to cancel this run
          if (!active.cancelRequested && this.options.store.takeRunCancelRequest(id, this.owner)) {
            this.options.log?.(id, `run ${id} cancelled by another process`)
            this.cancel(id)
          }
          continue
        }
        const owner = this.options.store.runOwner(id)
        active.lost = `run ${id} was taken over by ${owner ? `another process (${owner})` : 'another process'} after this one stopped renewing its lease for ${this.options.staleSeconds ?? LEASE_SECONDS} s; this process stopped training it without writing anything more`
        active.worker.postMessage({ type: 'lost' } satisfies HostToWorker)
        this.options.log?.(id, active.lost)
      } catch (error) {
        if (isBusyError(error)) {
          if (active.busySince === null)
            this.options.log?.(id, `the experiment store ${this.options.store.path} is locked by another process; waiting (metrics are kept in memory)`)
          active.busySince ??= Date.now()
        } else this.options.log?.(id, `heartbeat failed: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
  }
}

/**
 * Room to record a run's failure on a full disk: a small file beside the store, made while runs train and
 * deleted when a write fails for lack of space, so the few pages saying "failed: disk full" fit.
 */
class DiskReserve {
  private readonly file: string
  constructor(
    dbPath: string,
    private readonly bytes = 1 << 20
  ) {
    this.file = `${path.resolve(dbPath)}-reserve`
  }

  /** Best effort: on a disk already too full for it there is nothing to reserve. */
  ensure(): void {
    try {
      if (fs.statSync(this.file, { throwIfNoEntry: false })?.size === this.bytes) return
      fs.writeFileSync(this.file, Buffer.alloc(this.bytes))
    } catch {
      fs.rmSync(this.file, { force: true })
    }
  }

  release(): boolean {
    if (!fs.existsSync(this.file)) return false
    fs.rmSync(this.file, { force: true })
    return true
  }

  /** A write that failed for lack of space is tried once more with the reserve given back to the disk. */
  write<T>(write: () => T): T {
    try {
      return write()
    } catch (error) {
      if (!isDiskFullError(error) || !this.release()) throw error
      return write()
    }
  }
}
