// The job host: runs every long operation besides training (evaluate, fine-tune, forgetting matrix, grow,
// export, import, add a domain, prepare the default stream) in a worker thread, one job per kind at a time,
// records each in the store's jobs table (params, status, progress, timings, result or error) and publishes
// job.updated / job.progress. A cancel sets a shared flag the worker reads at its next progress point; a
// worker that does not stop within the grace period is terminated (every body writes its output atomically).
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { describeZodError, type JobKind, type JobProgress, type JobSummary } from '../../../shared/contract'
import { JOB_RESULTS } from '../../../shared/jobs'
import { mainBundle } from '../install-paths'
import type { BackendRequest } from '../backend/select'
import type { EventBus } from '../events'
import { workerResourceLimits } from '../resources'
import type { ExperimentStore } from '../store/store'
import { ownerIsDead } from '../training/host'
import type { HostToJobWorker, JobWorkerToHost } from './protocol'

export const jobWorkerFile = (): string => mainBundle('job-worker.js')

export interface JobHostOptions {
  store: ExperimentStore
  events: EventBus
  dbPath: string
  dataDir: string
  backend: BackendRequest
  /** how long a cancelled worker may take to reach its next progress point before it is terminated */
  cancelGraceMs?: number
  /** how often cancel requests from other processes are read (default 1 s) */
  pollMs?: number
  /** every change of a job's record (the run queue follows its job entries with it) */
  onUpdated?: (job: JobSummary) => void
}

interface ActiveJob {
  worker: Worker
  cancel: Int32Array
  startedAt: number
  lastEvent: number
  lastStored: number
}

interface QueuedJob {
  id: number
  kind: JobKind
  work: Record<string, unknown>
  /** an entry of the run queue: left queued in the store (for the next runner) when this host closes */
  fromQueue?: boolean
}

const EVENT_INTERVAL_MS = 200
const STORE_INTERVAL_MS = 1000

/** Seconds left at the pace so far: linear in the share done, once there is something to go by. */
export function etaSeconds(fraction: number | null, elapsedS: number): number | null {
  if (fraction === null || fraction <= 0 || elapsedS < 0.5) return null
  return Math.max(0, (elapsedS * (1 - fraction)) / fraction)
}

export class JobHost {
  readonly owner = `${os.hostname()}:${process.pid}:${randomUUID()}`
  private readonly queue: QueuedJob[] = []
  private readonly active = new Map<number, ActiveJob & { kind: JobKind }>()
  private readonly waiters = new Map<number, Array<(job: JobSummary) => void>>()
  private readonly poll: NodeJS.Timeout
  private closed = false

  constructor(private readonly options: JobHostOptions) {
    this.poll = setInterval(() => this.readCancelRequests(), options.pollMs ?? 1000)
    this.poll.unref()
  }

  /** Jobs left queued or running by a process on this machine that is gone: failed, saying so. */
  recoverOrphans(): JobSummary[] {
    const { store } = this.options
    const orphans = [...store.listJobs({ status: 'running' }), ...store.listJobs({ status: 'queued' })].filter((j) => ownerIsDead(j.owner))
    return orphans.map((j) =>
      this.ended(store.endJob(j.id, { status: 'failed', error: `interrupted: the process running it (${j.owner}) stopped before it ended; start it again` }))
    )
  }

  /**
   * Record a job and queue it. `work` is what the worker gets: the params with ids resolved to paths;
   * `params` is what the job records (what it was asked).
   */
  start(kind: JobKind, params: Record<string, unknown>, work: (jobId: number) => Record<string, unknown>): JobSummary {
    if (this.closed) throw new Error('the job host is shut down')
    const job = this.options.store.createJob(kind, params, this.owner)
    this.queue.push({ id: job.id, kind, work: work(job.id) })
    this.publish(job)
    this.pump()
    return this.options.store.getJob(job.id)
  }

  /** Start a job the run queue recorded earlier (status queued, no owner), with the work it stored. */
  startQueued(id: number, kind: JobKind, work: Record<string, unknown>): void {
    if (this.closed || this.has(id)) return
    this.queue.push({ id, kind, work, fromQueue: true })
    this.pump()
  }

  /** The job waits or runs in this process. */
  has(id: number): boolean {
    return this.active.has(id) || this.queue.some((q) => q.id === id)
  }

  /** Resolves when the job has ended (finished, failed or cancelled). */
  waitFor(id: number): Promise<JobSummary> {
    const job = this.options.store.getJob(id)
    if (job.status !== 'queued' && job.status !== 'running') return Promise.resolve(job)
    return new Promise((resolve) => this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]))
  }

  /**
   * Cancel a job: one queued here is dropped, one running here is asked to stop (terminated after the
   * grace period). A job another process runs gets a cancel request its owner reads within a second; one
   * whose process is gone is marked cancelled at once, saying so.
   */
  cancel(id: number): JobSummary {
    const { store } = this.options
    const job = store.getJob(id)
    if (job.status !== 'queued' && job.status !== 'running') return job
    const queued = this.queue.findIndex((q) => q.id === id)
    if (queued >= 0) {
      this.queue.splice(queued, 1)
      return this.ended(store.endJob(id, { status: 'cancelled', error: null }))
    }
    const active = this.active.get(id)
    if (active) {
      if (Atomics.load(active.cancel, 0) === 1) return store.getJob(id)
      Atomics.store(active.cancel, 0, 1)
      setTimeout(() => void active.worker.terminate(), this.options.cancelGraceMs ?? 10_000).unref()
      return store.getJob(id)
    }
    // a queue entry no runner has taken yet
    if (job.status === 'queued' && job.owner === null) return this.ended(store.endJob(id, { status: 'cancelled', error: null }))
    if (job.owner === null || ownerIsDead(job.owner)) {
      return this.ended(store.endJob(id, { status: 'cancelled', error: `the process that ran it (${job.owner ?? 'unknown'}) is gone; it was marked cancelled` }))
    }
    store.requestJobCancel(id)
    return store.getJob(id)
  }

  get activeJobs(): number[] {
    return [...this.active.keys()]
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.poll)
    // queue entries not started yet stay queued in the store for the next runner; the others are cancelled
    this.queue.splice(0, this.queue.length, ...this.queue.filter((q) => !q.fromQueue))
    for (const q of [...this.queue]) this.cancel(q.id)
    const running = [...this.active.keys()].map((id) => {
      const done = this.waitFor(id)
      this.cancel(id)
      return done
    })
    await Promise.allSettled(running)
  }

  private pump(): void {
    // one job per kind at a time: a long fine-tune does not hold up adding a domain
    for (const next of [...this.queue]) {
      if (this.closed) return
      if ([...this.active.values()].some((a) => a.kind === next.kind)) continue
      this.queue.splice(this.queue.indexOf(next), 1)
      this.run(next)
    }
  }

  private run(next: QueuedJob): void {
    const { store } = this.options
    if (!store.startJob(next.id, this.owner)) return // cancelled meanwhile
    this.publish(store.getJob(next.id))
    const file = jobWorkerFile()
    if (!fs.existsSync(file)) {
      this.ended(store.endJob(next.id, { status: 'failed', error: `the job worker is not built (${file} is missing); run "npm run build"` }))
      return
    }
    const cancel = new SharedArrayBuffer(4)
    const limits = workerResourceLimits(null)
    const worker = new Worker(file, { resourceLimits: limits })
    const active = { worker, kind: next.kind, cancel: new Int32Array(cancel), startedAt: Date.now(), lastEvent: 0, lastStored: 0 }
    this.active.set(next.id, active)
    let outcome: JobWorkerToHost | null = null
    worker.on('message', (message: JobWorkerToHost) => {
      if (message.type === 'progress') this.progress(next.id, active, message.fraction, message.message)
      else if (message.type !== 'log') {
        outcome = message
        void worker.terminate()
      }
    })
    worker.on('error', (error) => {
      const outOfMemory = (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
      outcome ??= {
        type: 'failed',
        error: outOfMemory
          ? `the job worker ran out of memory (its JavaScript heap is limited to ${limits.maxOldGenerationSizeMb} MB)`
          : `the job worker crashed: ${error.message}`,
        input: false
      }
    })
    worker.on('exit', (code) => {
      this.active.delete(next.id)
      const cancelled = Atomics.load(active.cancel, 0) === 1
      const end: JobWorkerToHost = outcome ?? (cancelled ? { type: 'cancelled' } : { type: 'failed', error: `the job worker exited unexpectedly (code ${code})`, input: false })
      let job: JobSummary
      if (end.type === 'done') {
        // stored as its kind's schema says (src/shared/jobs.ts), as JSON reads it back (NaN becomes null)
        const checked = JOB_RESULTS[next.kind].safeParse(JSON.parse(JSON.stringify(end.result)))
        job = checked.success
          ? store.endJob(next.id, { status: 'finished', result: checked.data as Record<string, unknown> })
          : store.endJob(next.id, { status: 'failed', error: `internal: the ${next.kind} job's result does not match its schema (${describeZodError('result', checked.error)})` })
      } else if (end.type === 'cancelled') job = store.endJob(next.id, { status: 'cancelled', error: null })
      else if (end.type === 'failed') job = store.endJob(next.id, { status: 'failed', error: end.error })
      else job = store.getJob(next.id)
      this.ended(job)
      if (job.status === 'finished' && (next.kind === 'domain.add' || next.kind === 'stream.prepare')) this.options.events.publish({ type: 'domains.changed' })
      this.pump()
    })
    worker.postMessage({
      type: 'start',
      work: { jobId: next.id, kind: next.kind, params: next.work, dbPath: this.options.dbPath, dataDir: this.options.dataDir, backend: this.options.backend, cancel }
    } satisfies HostToJobWorker)
  }

  private progress(id: number, active: ActiveJob, fraction: number | null, message: string): void {
    const now = Date.now()
    const done = fraction === 1
    // the first report always goes out; after that a few a second, and the last one
    if (active.lastEvent !== 0 && now - active.lastEvent < EVENT_INTERVAL_MS && !done) return
    active.lastEvent = now
    const progress: JobProgress = {
      jobId: id,
      fraction: fraction === null ? null : Math.min(1, Math.max(0, fraction)),
      etaS: etaSeconds(fraction, (now - active.startedAt) / 1000),
      message
    }
    if (now - active.lastStored >= STORE_INTERVAL_MS || done) {
      active.lastStored = now
      try {
        this.options.store.setJobProgress(id, progress)
      } catch {
        // a locked store: the event still goes out, the stored progress catches up at the next report
      }
    }
    this.options.events.publish({ type: 'job.progress', progress })
  }

  private readCancelRequests(): void {
    if (this.active.size === 0 && this.queue.length === 0) return
    try {
      for (const id of this.options.store.jobCancelRequests(this.owner)) if (this.active.has(id) || this.queue.some((q) => q.id === id)) this.cancel(id)
    } catch {
      // a locked store: read again at the next tick
    }
  }

  private ended(job: JobSummary): JobSummary {
    this.publish(job)
    for (const resolve of this.waiters.get(job.id) ?? []) resolve(job)
    this.waiters.delete(job.id)
    return job
  }

  private publish(job: JobSummary): void {
    this.options.events.publish({ type: 'job.updated', job })
    this.options.onUpdated?.(job)
  }
}
