// The run queue (issue 14, docs/queue.md): every run trains through it. The order, settings and paused flag
// live in the store (store/queue.ts), so a restart keeps them; this object decides what starts when (slots,
// dependencies, the time window, the paused flag), stops runs at a checkpoint when the window closes or their
// budget runs out, and tells the user what happened (run.notice events, the command hook).
//
// Two modes: a queue runner (the workbench, `elle serve`, `elle worker`) trains every entry of the store in
// order; an "own" process (`elle run`) trains only the entries it added itself (reserved for it), at once.
import { spawn } from 'node:child_process'
import {
  QUEUE_START_PRIORITY,
  type Params,
  type QueueBudget,
  type JobKind,
  type JobSummary,
  type QueueEntry,
  type QueueEntryState,
  type QueueJobEntry,
  type QueueRef,
  type QueueRunEntry,
  type QueueSettings,
  type QueueState,
  type RunNotice,
  type RunStatus,
  type RunSummary
} from '../../../shared/contract'
import { estimateWall, methodName, planStages, type ThroughputSample } from '../../../shared/designer'
import { makespan } from '../../../shared/queue'
import { RunConfig as RunConfigSchema } from '../../../shared/run-config'
import type { EventBus } from '../events'
import type { JobHost } from '../jobs/host'
import { QueueStore, refKey, rowRef, type AnyQueueRow, type EntryRef, type JobQueueRow, type QueueRow, type StopReason } from '../store/queue'
import { StoreError, type ExperimentStore } from '../store/store'
import { ownerIsDead, type TrainerHost } from '../training/host'
import { checkTimezone, compileWindow, finishTime, isOpen, nextChange, WindowError, type CompiledWindow } from './window'

export type QueueMode = 'runner' | 'own'

export interface RunQueueOptions {
  store: ExperimentStore
  host: () => TrainerHost
  /** the job host: starts the queue's job entries (in the engine's own process) */
  jobs: () => JobHost
  events: EventBus
  /** the engine's status change (publishes run.updated) */
  setStatus(id: number, status: RunStatus, details?: { error?: string | null }): RunSummary
  backend: string
  mode: QueueMode
  /** milliseconds since the epoch; tests pass a fake clock */
  clock?: () => number
  /** how often a runner looks at the queue (default 1 s; 0: only when called) */
  tickMs?: number
  /** the command hook is killed after this long (default 60 s) */
  hookTimeoutMs?: number
  log?: (message: string) => void
}

/** A dependency, budget or window the user gave that cannot work: a bad request naming the field. */
export class QueueInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'QueueInputError'
  }
}

const STARTABLE_PAUSES: ReadonlySet<StopReason | null> = new Set(['window', 'paused', 'shutdown'])
const NON_FINITE = /the training loss became (NaN|infinite)/
/** how often a runner looks for runs whose process died (ticks) */
const RECOVER_EVERY = 30
/**
 * A gap this long between two looks at the queue means the machine slept (the timer looks every second, and
 * training runs in worker threads, so this process is never busy that long): the gap counts neither as time
 * without progress (no false "stalled" after a laptop wakes) nor against a run's budget of training hours.
 */
const SLEEP_GAP_MS = 2 * 60_000
/** how many finished jobs of a kind a waiting job's estimate takes the median of */
const JOB_ESTIMATE_SAMPLES = 10

const firstLine = (text: string | null): string => (text ?? '').split('\n')[0]!.trim()

/** The contract's reference ({ runId } / { jobId }; a bare number is a run id) as the store's. */
export function toRef(ref: QueueRef | number): EntryRef {
  if (typeof ref === 'number') return { kind: 'run', id: ref }
  return 'runId' in ref ? { kind: 'run', id: ref.runId } : { kind: 'job', id: ref.jobId }
}
const refName = (ref: EntryRef): string => `${ref.kind} ${ref.id}`
/** how a dependency cycle's members are named: runs by their id alone (as before jobs could queue), jobs as "job N" */
const cycleName = (key: string): string => (key.startsWith('run:') ? key.slice(4) : key.replace(':', ' '))

export class RunQueue {
  readonly db: QueueStore
  private readonly clock: () => number
  private timer: NodeJS.Timeout | null = null
  private ticks = 0
  private lastTickAt: number | null = null
  /** runs trained here: when their current session started and when they last reported progress (clock ms) */
  private readonly sessions = new Map<number, { startedAt: number; progressAt: number; stalled: boolean }>()
  private active = false
  private ticking = false
  private closed = false
  private readonly unsubscribe: () => void

  constructor(private readonly options: RunQueueOptions) {
    this.db = new QueueStore(options.store.db)
    this.clock = options.clock ?? Date.now
    this.unsubscribe = options.events.subscribe((event) => {
      if (event.type !== 'run.progress') return
      const session = this.sessions.get(event.progress.runId)
      if (!session) return
      session.progressAt = this.clock()
      session.stalled = false
    })
  }

  get mode(): QueueMode {
    return this.options.mode
  }

  private get host(): TrainerHost {
    return this.options.host()
  }

  /** Look at the queue every tickMs (runners); also after every change made here. */
  startTimer(): void {
    const ms = this.options.tickMs ?? 1000
    if (this.timer || ms <= 0) return
    this.timer = setInterval(() => this.tick(), ms)
    this.timer.unref()
  }

  close(): void {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.unsubscribe()
  }

  // ---- settings -------------------------------------------------------------------------------

  settings(): QueueSettings {
    return this.db.state().settings
  }

  /** Change settings (the fields given); a window, zone or budget that cannot work is refused and nothing changes. */
  changeSettings(changes: Params<'queue.settings'>): QueueSettings {
    const current = this.settings()
    const next: QueueSettings = { ...current }
    const { stopAfterHours, ...fields } = changes
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(next, { [key]: value })
    if (stopAfterHours !== undefined) next.stopAt = new Date(this.clock() + stopAfterHours * 3_600_000).toISOString()
    this.compiled(next) // throws naming the field
    if (next.defaultBudget) checkBudget(next.defaultBudget, this.clock(), 'defaultBudget')
    if (changes.stopAt && Date.parse(changes.stopAt) <= this.clock()) throw new QueueInputError(`stopAt: ${changes.stopAt} has already passed`)
    if (JSON.stringify(next) !== JSON.stringify(current)) {
      this.db.setSettings(next)
      this.changed()
    }
    return next
  }

  private compiled(settings: QueueSettings): CompiledWindow | null {
    try {
      checkTimezone(settings.timezone)
      return settings.window ? compileWindow(settings.window, settings.timezone) : null
    } catch (error) {
      if (error instanceof WindowError) throw new QueueInputError(error.message)
      throw error
    }
  }

  setPaused(paused: boolean): QueueState {
    if (this.db.state().paused !== paused) {
      this.db.setPaused(paused)
      this.changed()
    }
    return this.state()
  }

  // ---- entries --------------------------------------------------------------------------------

  /**
   * Check an entry's dependencies and budget before anything is stored: every run and job must exist, and (for
   * an entry already queued) none may lead back to it, through runs or jobs.
   */
  checkEntry(input: { runId?: number; jobId?: number; after?: readonly number[]; afterJobs?: readonly number[]; budget?: QueueBudget | null }): void {
    for (const id of input.after ?? []) {
      if (id === input.runId) throw new QueueInputError(`after: run ${id} cannot wait for itself`)
      if (!this.db.runExists(id)) throw new QueueInputError(`after: no run with id ${id}`)
    }
    for (const id of input.afterJobs ?? []) {
      if (id === input.jobId) throw new QueueInputError(`afterJobs: job ${id} cannot wait for itself`)
      if (!this.db.jobExists(id)) throw new QueueInputError(`afterJobs: no job with id ${id}`)
    }
    if (input.budget) checkBudget(input.budget, this.clock(), 'budget')
    const self: EntryRef | null = input.runId !== undefined ? { kind: 'run', id: input.runId } : input.jobId !== undefined ? { kind: 'job', id: input.jobId } : null
    if (self && (input.after || input.afterJobs)) {
      const dependencies = (after: readonly number[], afterJobs: readonly number[]): string[] => [...after.map((id) => `run:${id}`), ...afterJobs.map((id) => `job:${id}`)]
      const edges = new Map(this.db.all().map((r) => [refKey(rowRef(r)), dependencies(r.after, r.afterJobs)]))
      const current = this.db.all().find((r) => refKey(rowRef(r)) === refKey(self))
      edges.set(refKey(self), dependencies(input.after ?? current?.after ?? [], input.afterJobs ?? current?.afterJobs ?? []))
      const cycle = findCycle(edges, refKey(self))
      if (cycle) throw new QueueInputError(`${input.afterJobs && !input.after ? 'afterJobs' : 'after'}: dependency cycle ${cycle.map(cycleName).join(' → ')}`)
    }
  }

  /** Put a created run (status queued) in the queue; runs.start and runs.resume use the start priority. */
  enqueue(
    runId: number,
    entry: { priority?: number; after?: readonly number[]; afterJobs?: readonly number[]; group?: string | null; budget?: QueueBudget | null; reserve?: boolean } = {}
  ): void {
    const budget = entry.budget === undefined ? this.settings().defaultBudget : entry.budget
    this.db.transaction(() =>
      this.db.add(runId, {
        priority: entry.priority ?? 0,
        after: entry.after ?? [],
        afterJobs: entry.afterJobs ?? [],
        group: entry.group ?? null,
        budget,
        // runs.start in an own process (elle run) trains its run itself; other entries are any runner's
        reservedBy: entry.reserve === true ? this.host.owner : null
      })
    )
    this.changed()
  }

  /** runs.resume: the run (failed, cancelled or paused) back in the queue at the start priority. */
  resume(runId: number): RunSummary {
    this.options.store.clearRunCancelRequest(runId)
    const existing = this.db.get(runId)
    const run = this.options.setStatus(runId, 'queued')
    this.enqueue(runId, {
      priority: QUEUE_START_PRIORITY,
      after: existing?.after,
      afterJobs: existing?.afterJobs,
      group: existing?.group,
      budget: existing?.budget ?? null,
      reserve: this.mode === 'own'
    })
    return run
  }

  /** Move an entry (a run's or a job's) to the top, the bottom or an index, or swap it with another. */
  move(which: QueueRef | number, to: 'top' | 'bottom' | number | undefined, swapWith: QueueRef | number | undefined): void {
    const ref = toRef(which)
    const entry = this.db.requireRef(ref)
    if (entry.status === 'finished') throw new StoreError('invalid', `${refName(ref)} has finished; only unfinished entries can move`)
    const order = this.db.order()
    const keys = order.map(refKey)
    const from = keys.indexOf(refKey(ref))
    if (swapWith !== undefined) {
      const other = toRef(swapWith)
      const at = keys.indexOf(refKey(other))
      if (at < 0) throw new StoreError('not_found', `swapWith: ${refName(other)} is not an unfinished entry of the queue`)
      ;[order[from], order[at]] = [order[at]!, order[from]!]
    } else {
      order.splice(from, 1)
      const index = to === 'top' ? 0 : to === 'bottom' ? order.length : Math.min(to ?? order.length, order.length)
      order.splice(index, 0, ref)
    }
    this.db.transaction(() => this.db.reorder(order))
    this.changed()
  }

  update(params: Params<'queue.update'>): QueueEntry {
    const ref = toRef(params.jobId !== undefined ? { jobId: params.jobId } : { runId: params.runId! })
    this.db.requireRef(ref)
    if (ref.kind === 'job') {
      if (params.budget !== undefined) throw new QueueInputError('budget: a job entry has no budget (a job runs to its end)')
      this.checkEntry({ jobId: ref.id, after: params.after, afterJobs: params.afterJobs })
      this.db.transaction(() => this.db.updateJob(ref.id, { priority: params.priority, after: params.after, afterJobs: params.afterJobs, group: params.group }))
    } else {
      this.checkEntry({ runId: ref.id, after: params.after, afterJobs: params.afterJobs, budget: params.budget })
      this.db.transaction(() => this.db.update(ref.id, { priority: params.priority, after: params.after, afterJobs: params.afterJobs, group: params.group, budget: params.budget }))
    }
    this.changed()
    return this.entryOf(ref)
  }

  /** Take an entry out: a waiting or paused run (or a waiting job) is cancelled; a running one is refused. */
  remove(which: QueueRef | number): QueueEntry {
    const ref = toRef(which)
    if (ref.kind === 'job') return this.removeJob(ref.id)
    const runId = ref.id
    const before = this.entry(runId)
    if (before.state === 'running') throw new StoreError('conflict', `run ${runId} is running; cancel it first (runs.cancel), then remove it`)
    if (this.host.has(runId)) this.host.cancel(runId)
    else if (before.run.status === 'queued' || before.run.status === 'paused') this.options.setStatus(runId, 'cancelled')
    this.db.remove(runId)
    this.changed()
    return { ...before, run: this.options.store.getRun(runId), state: before.state === 'finished' ? 'finished' : before.run.status === 'failed' ? before.state : 'cancelled' }
  }

  private removeJob(jobId: number): QueueEntry {
    const before = this.jobEntry(jobId)
    if (before.state === 'running') throw new StoreError('conflict', `job ${jobId} is running; cancel it first (jobs.cancel), then remove it`)
    const job = before.state === 'waiting' ? this.options.jobs().cancel(jobId) : before.job
    this.db.removeJob(jobId)
    this.changed()
    return { ...before, job, state: before.state === 'waiting' ? 'cancelled' : before.state }
  }

  /**
   * A failed, cancelled, interrupted or stopped entry waits again: a run resumes from its newest checkpoint; a job
   * (not resumable) starts over, keeping its id, params and place.
   */
  retry(which: QueueRef | number): QueueEntry {
    const ref = toRef(which)
    const entry = this.entryOf(ref)
    if (!['failed', 'cancelled', 'interrupted', 'stopped'].includes(entry.state))
      throw new StoreError('invalid', `${refName(ref)} is ${entry.state}; only failed, cancelled, interrupted or stopped entries can be retried`)
    if (ref.kind === 'job') {
      this.options.store.requeueJob(ref.id)
      this.changed()
      return this.entryOf(ref)
    }
    const runId = ref.id
    this.options.store.clearRunCancelRequest(runId)
    if (entry.kind === 'run' && entry.run.status !== 'queued') this.options.setStatus(runId, 'queued')
    this.db.setStop(runId, null, null)
    if (entry.state === 'stopped') this.db.resetTrained(runId)
    if (this.mode === 'own') this.db.setReserved(runId, null)
    this.changed()
    return this.entryOf(ref)
  }

  // ---- reading --------------------------------------------------------------------------------

  entry(runId: number): QueueRunEntry {
    return this.entryOf({ kind: 'run', id: runId }) as QueueRunEntry
  }

  jobEntry(jobId: number): QueueJobEntry {
    return this.entryOf({ kind: 'job', id: jobId }) as QueueJobEntry
  }

  entryOf(ref: EntryRef): QueueEntry {
    this.db.requireRef(ref)
    const found = this.state(true).entries.find((e) => (e.kind === 'run' ? ref.kind === 'run' && e.runId === ref.id : ref.kind === 'job' && e.jobId === ref.id))
    if (!found) throw new StoreError('not_found', `${refName(ref)} is not in the queue`)
    return found
  }

  state(includeFinished = false): QueueState {
    const now = this.clock()
    const { settings, paused } = this.db.state()
    const window = this.compiledQuietly(settings)
    const open = isOpen(window, now)
    const change = nextChange(window, now)
    const rows = this.db.all()
    const blockers = this.blockers(rows, { settings, paused, window, now })
    const samples = this.options.store.throughputSamples(this.options.backend)
    // one estimate per job kind per look at the queue, however many jobs of that kind wait
    const jobEstimates = new Map<JobKind, QueueEntry['estimate']>()
    let position = 0
    const entries: QueueEntry[] = []
    for (const row of rows) {
      if (row.status === 'finished' && !includeFinished) continue
      const at = row.status === 'finished' ? -1 : position++
      const blockedBy = blockers.get(refKey(rowRef(row))) ?? null
      entries.push(row.kind === 'run' ? this.toEntry(row, at, blockedBy, settings, samples) : this.toJobEntry(row, at, blockedBy, jobEstimates))
    }
    const pending = entries.filter((e) => ['waiting', 'running', 'paused'].includes(e.state))
    const seconds = pending.map((e) => e.estimate?.seconds ?? 0)
    const etaS = pending.length > 0 ? makespan(seconds, settings.slots) : null
    const finish = etaS === null ? null : finishTime(window, now, etaS)
    return {
      entries,
      paused,
      settings,
      windowOpen: open,
      nextWindowChange: change === null ? null : new Date(change).toISOString(),
      etaS,
      finishAt: finish === null ? null : new Date(finish).toISOString(),
      trainingActive: this.host.activeRuns.length > 0 || this.options.jobs().activeJobs.length > 0,
      now: new Date(now).toISOString()
    }
  }

  private compiledQuietly(settings: QueueSettings): CompiledWindow | null {
    try {
      return this.compiled(settings)
    } catch (error) {
      // a stored window this version cannot read: the queue stays closed rather than training at noon
      this.options.log?.(`the queue's window cannot be read (${error instanceof Error ? error.message : String(error)}); nothing starts until it is set again`)
      return compileWindow({ kind: 'cron', cron: '0 0 1 1 *', minutes: 1 }, null)
    }
  }

  private stateOf(row: QueueRow, settings: QueueSettings): QueueEntryState {
    switch (row.status) {
      case 'queued':
        return 'waiting'
      case 'running':
        return 'running'
      case 'paused':
        if (row.stopReason === 'budget') return 'stopped'
        if (row.stopReason === 'shutdown' && !settings.autoResume) return 'interrupted'
        return 'paused'
      case 'failed':
        return row.stopReason === 'interrupted' ? 'interrupted' : 'failed'
      default:
        return row.status
    }
  }

  private jobStateOf(row: JobQueueRow, job: JobSummary): QueueEntryState {
    if (row.status === 'queued') return 'waiting'
    if (row.status === 'failed' && (job.error ?? '').startsWith('interrupted')) return 'interrupted'
    return row.status
  }

  private toJobEntry(row: JobQueueRow, position: number, blockedBy: string | null, estimates: Map<JobKind, QueueEntry['estimate']>): QueueJobEntry {
    const job = this.options.store.getJob(row.jobId)
    const state = this.jobStateOf(row, job)
    const etaS = state === 'running' ? job.progress?.etaS : null
    return {
      kind: 'job',
      jobId: row.jobId,
      position,
      priority: row.priority,
      state,
      blockedBy: state === 'waiting' ? blockedBy : null,
      group: row.group,
      after: row.after,
      afterJobs: row.afterJobs,
      estimate: etaS != null ? { seconds: etaS, source: 'progress', note: "from the job's progress so far" } : state === 'waiting' ? this.jobEstimate(job.kind, estimates) : null,
      enqueuedAt: row.enqueuedAt,
      message: state === 'failed' || state === 'interrupted' ? firstLine(job.error) : (job.progress?.message ?? null),
      job,
      what: describeJob(this.options.store, job.kind, job.params)
    }
  }

  /**
   * A waiting job's duration: the median of the last finished jobs of its kind (their params differ, so this is a
   * rough figure, and says so); null before any has finished.
   */
  private jobEstimate(kind: JobKind, known: Map<JobKind, QueueEntry['estimate']>): QueueEntry['estimate'] {
    if (known.has(kind)) return known.get(kind)!
    const seconds = this.options.store
      .listJobs({ status: 'finished', kind, limit: JOB_ESTIMATE_SAMPLES })
      .filter((j) => j.startedAt !== null && j.endedAt !== null)
      .map((j) => (Date.parse(j.endedAt!) - Date.parse(j.startedAt!)) / 1000)
      .sort((a, b) => a - b)
    const mid = seconds.length >> 1
    const median = seconds.length % 2 === 1 ? seconds[mid]! : (seconds[mid - 1]! + seconds[mid]!) / 2
    const estimate: QueueEntry['estimate'] =
      seconds.length === 0 ? null : { seconds: median, source: 'measured', note: `median of the last ${seconds.length} finished ${kind} job${seconds.length === 1 ? '' : 's'}` }
    known.set(kind, estimate)
    return estimate
  }

  private toEntry(row: QueueRow, position: number, blockedBy: string | null, settings: QueueSettings, samples: ThroughputSample[]): QueueRunEntry {
    const run = this.options.store.getRun(row.runId)
    const parsed = RunConfigSchema.safeParse(this.options.store.getExperimentConfig(run.experimentId))
    const state = this.stateOf(row, settings)
    return {
      kind: 'run',
      runId: row.runId,
      position,
      priority: row.priority,
      state,
      blockedBy: state === 'waiting' || state === 'paused' ? blockedBy : null,
      run,
      method: parsed.success ? methodName(parsed.data) : 'unknown',
      seed: parsed.success ? parsed.data.training.seed : null,
      configName: parsed.success ? parsed.data.name : run.experimentName,
      group: row.group,
      after: row.after,
      afterJobs: row.afterJobs,
      budget: row.budget,
      trainedS: row.trainedS + (this.sessions.has(row.runId) ? (this.clock() - this.sessions.get(row.runId)!.startedAt) / 1000 : 0),
      estimate: state === 'finished' ? null : this.estimate(row, parsed.success ? parsed.data : null, samples),
      enqueuedAt: row.enqueuedAt,
      message: row.message ?? (state === 'failed' || state === 'interrupted' ? firstLine(run.error) : null)
    }
  }

  /** Remaining seconds: the live progress's ETA, else the designer's estimate scaled by the steps left. */
  private estimate(row: QueueRow, config: RunConfigSchema | null, samples: ThroughputSample[]): QueueEntry['estimate'] {
    const live: LiveProgress | null = this.host.progressOf(row.runId) ?? progressShape(this.options.store.runProgress(row.runId))
    if (row.status === 'running' && live?.etaS != null)
      return { seconds: live.etaS, source: 'progress', note: `from the run's current throughput (${Math.round(live.tokensPerS)} tokens/s)` }
    if (!config) return null
    const walls = planStages(config).map((plan) => estimateWall(plan, config.training.batchSize, samples))
    const total = walls.reduce((sum, w) => sum + w.seconds, 0)
    const done = live && live.totalSteps > 0 ? Math.min(1, live.step / live.totalSteps) : 0
    const source = walls.some((w) => w.source === 'guess') ? 'guess' : walls.some((w) => w.source === 'scaled') ? 'scaled' : 'measured'
    return { seconds: total * (1 - done), source, note: `${walls[0]?.note ?? ''}${done > 0 ? `; ${Math.round(done * 100)}% done` : ''}` }
  }

  /**
   * Why each waiting (or queue-paused) entry, a run's or a job's, does not start now, keyed by refKey; entries
   * absent from the map could start. Slots are given in queue order; a job takes one.
   */
  private blockers(rows: AnyQueueRow[], ctx: { settings: QueueSettings; paused: boolean; window: CompiledWindow | null; now: number }): Map<string, string> {
    const reasons = new Map<string, string>()
    const own = this.mode === 'own'
    const running = rows.filter((r) => r.status === 'running').length
    let free = ctx.settings.slots - running
    const open = isOpen(ctx.window, ctx.now)
    const opens = open ? null : nextChange(ctx.window, ctx.now)
    for (const row of rows) {
      const key = refKey(rowRef(row))
      if (row.kind === 'job' ? row.status !== 'queued' : !this.startable(row, ctx.settings)) continue
      const mine = row.kind === 'run' && row.reservedBy === this.host.owner
      if (own && !mine) {
        reasons.set(key, 'waits for a queue runner (the workbench or elle worker)')
        continue
      }
      if (row.kind === 'run' && !own && row.reservedBy !== null && !mine && !ownerIsDead(row.reservedBy)) {
        reasons.set(key, `started by another process (${row.reservedBy.split(':').slice(0, 2).join(' pid ')}), which trains it`)
        continue
      }
      const dependency = this.unfinishedDependency(row)
      if (dependency) {
        reasons.set(key, dependency)
        continue
      }
      if (row.kind === 'run') {
        const until = row.budget?.until === undefined ? null : Date.parse(row.budget.until)
        if (until !== null && until <= ctx.now) {
          reasons.set(key, `its budget ended at ${row.budget!.until}`)
          continue
        }
      }
      if (mine && own) continue // elle run: trains at once, whatever the queue's window, pause and slots
      if (ctx.paused) {
        reasons.set(key, 'the queue is paused')
        continue
      }
      if (!open) {
        reasons.set(key, opens === null ? 'outside the window, which does not open again' : `outside the window until ${localTime(opens, ctx.settings.timezone)}`)
        continue
      }
      if (row.kind === 'run' && this.host.has(row.runId)) continue // starting here
      if (row.kind === 'job' && this.options.jobs().has(row.jobId)) {
        free-- // handed to the job host here (it may wait there for another job of its kind)
        continue
      }
      if (free <= 0) {
        reasons.set(key, `all ${ctx.settings.slots} slot${ctx.settings.slots === 1 ? '' : 's'} busy`)
        continue
      }
      free--
    }
    return reasons
  }

  /** The first run or job the entry waits for that has not finished, said as the entry's reason; null: none. */
  private unfinishedDependency(row: AnyQueueRow): string | null {
    const waits = [
      ...row.after.map((id) => ({ what: `run ${id}`, status: this.db.runStatus(id) as string | null })),
      ...row.afterJobs.map((id) => ({ what: `job ${id}`, status: this.db.jobStatus(id) as string | null }))
    ]
    const dependency = waits.find((d) => d.status !== 'finished')
    if (!dependency) return null
    const why =
      dependency.status === 'failed' || dependency.status === 'cancelled'
        ? `, which ${dependency.status === 'failed' ? 'failed' : 'was cancelled'}`
        : ` (${dependency.status ?? 'deleted'})`
    return `after ${dependency.what}${why}`
  }

  private startable(row: QueueRow, settings: QueueSettings): boolean {
    if (row.status === 'queued') return true
    if (row.status !== 'paused') return false
    return STARTABLE_PAUSES.has(row.stopReason) && (row.stopReason !== 'shutdown' || settings.autoResume)
  }

  // ---- the scheduler --------------------------------------------------------------------------

  /**
   * Start what may start, pause what must stop (window closed, queue paused, budget spent), report stalls.
   * Synchronous and idempotent: the timer calls it, and every change made here.
   */
  tick(): void {
    if (this.closed || this.ticking) return
    this.ticking = true
    try {
      const now = this.clock()
      // only a queue that looks every second can tell a sleep from a quiet spell (elle run's looks only on changes)
      if (this.timer !== null && this.lastTickAt !== null && now - this.lastTickAt > SLEEP_GAP_MS) {
        const slept = now - this.lastTickAt
        for (const session of this.sessions.values()) {
          session.startedAt += slept
          session.progressAt += slept
        }
      }
      this.lastTickAt = now
      const state = this.db.state()
      const { settings } = state
      let { paused } = state
      if (settings.stopAt !== null && now >= Date.parse(settings.stopAt)) {
        // the queue's own budget is spent: pause it (running runs stop at a checkpoint below) until the user resumes
        this.db.setSettings({ ...settings, stopAt: null })
        this.db.setPaused(true)
        paused = true
        this.options.log?.(`the queue's stop time ${settings.stopAt} came: the queue is paused`)
        this.options.events.publish({ type: 'queue.changed' })
      }
      const window = this.compiledQuietly(settings)
      const open = isOpen(window, now)
      if (this.mode === 'runner' && ++this.ticks % RECOVER_EVERY === 0) {
        this.recover(this.host.recoverOrphans())
        // jobs of the queue another runner ran when its process died: failed (interrupted), with a retry
        this.options.jobs().recoverOrphans()
      }
      const all = this.db.all()
      const rows = all.filter((r): r is QueueRow => r.kind === 'run')
      for (const row of rows) {
        if (row.status !== 'running' || !this.sessions.has(row.runId)) continue
        const session = this.sessions.get(row.runId)!
        const mineAtOnce = this.mode === 'own' && row.reservedBy === this.host.owner
        const spent = budgetSpent(row, session.startedAt, now)
        if (!mineAtOnce && (paused || !open)) this.host.pause(row.runId, paused ? 'paused' : 'window')
        else if (spent) this.host.pause(row.runId, `budget:${spent}`)
        // a run asked to stop is not stalled for not progressing meanwhile
        else if (!session.stalled && now - session.progressAt > settings.stallMinutes * 60_000) {
          session.stalled = true
          this.notice('stalled', row.runId, `no progress for ${Math.round((now - session.progressAt) / 60_000)} min`)
        }
      }
      const blockers = this.blockers(all, { settings, paused, window, now })
      for (const row of all) {
        if (blockers.has(refKey(rowRef(row)))) continue
        if (row.kind === 'job') {
          // a job runs to its end once started: the window and the paused flag only hold back its start
          if (row.status === 'queued' && this.mode === 'runner' && !this.options.jobs().has(row.jobId)) this.options.jobs().startQueued(row.jobId, row.jobKind, row.work)
          continue
        }
        if (!this.startable(row, settings) || this.host.has(row.runId)) continue
        if (this.mode === 'own' && row.reservedBy !== this.host.owner) continue
        this.start(row, settings.slots)
      }
    } finally {
      this.ticking = false
    }
  }

  private start(row: QueueRow, slots: number): void {
    try {
      if (row.status === 'paused') {
        this.options.store.clearRunCancelRequest(row.runId)
        this.options.setStatus(row.runId, 'queued')
      }
      // the resumed run continues from its newest checkpoint (the runner finds it)
      this.db.setStop(row.runId, null, null)
      // an elle run (own mode) trains at once; the runners' starts are held to the slots across processes
      this.host.enqueue(row.runId, this.mode === 'runner' ? { slots } : {})
    } catch (error) {
      this.options.log?.(`run ${row.runId} could not be started from the queue: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /** Runs the host found orphaned (their process died): resumed first, or marked interrupted (auto-resume off). */
  recover(recovered: readonly RunSummary[]): void {
    if (recovered.length === 0) return
    const { autoResume } = this.settings()
    for (const run of recovered) {
      const row = this.db.get(run.id)
      if (!row) continue
      // a run `elle run` trained itself is resumed by its user, as before the queue
      if (!autoResume || row.reservedBy !== null) {
        this.db.setStop(run.id, 'interrupted', firstLine(run.error))
        this.notice('interrupted', run.id, firstLine(run.error))
        continue
      }
      this.options.setStatus(run.id, 'queued')
      this.db.setStop(run.id, null, 'resumed after the process training it stopped unexpectedly')
      const order = this.db.order().filter((r) => !(r.kind === 'run' && r.id === run.id))
      this.db.reorder([{ kind: 'run', id: run.id }, ...order])
    }
    this.changed()
  }

  // ---- the host's reports ---------------------------------------------------------------------

  onStarted(runId: number): void {
    const now = this.clock()
    this.sessions.set(runId, { startedAt: now, progressAt: now, stalled: false })
    this.activeChanged()
    this.options.events.publish({ type: 'queue.changed' })
  }

  onEnded(run: RunSummary, ended: { status: string; pausedFor: string | null }): void {
    const session = this.sessions.get(run.id)
    this.sessions.delete(run.id)
    if (this.db.get(run.id)) {
      if (session) this.db.addTrained(run.id, (this.clock() - session.startedAt) / 1000)
      if (ended.pausedFor?.startsWith('budget:')) {
        const what = ended.pausedFor.slice('budget:'.length)
        this.db.setStop(run.id, 'budget', `budget reached (${what}); stopped with a checkpoint`)
        this.notice('budget', run.id, `stopped: its budget (${what}) is spent; retry to continue`)
      } else if (ended.pausedFor !== null) {
        const reason = ended.pausedFor as StopReason
        this.db.setStop(run.id, reason, reason === 'window' ? 'the window closed; continues when it opens' : reason === 'paused' ? 'the queue was paused' : 'the app closed')
        if (reason !== 'shutdown') this.notice('paused', run.id, reason === 'window' ? 'paused at a checkpoint: the window closed' : 'paused at a checkpoint: the queue was paused')
      }
    }
    if (ended.status === 'finished') this.notice('finished', run.id, 'finished')
    else if (ended.status === 'failed') this.notice(NON_FINITE.test(run.error ?? '') ? 'non-finite' : 'failed', run.id, firstLine(run.error))
    this.activeChanged()
    this.changed()
  }

  /** The job host's report on any job: one of the queue's started or ended, so the queue changed (dependents may start). */
  onJobUpdated(job: JobSummary): void {
    if (this.closed || !this.db.getJob(job.id)) return
    if (job.status !== 'queued') this.activeChanged()
    this.changed()
  }

  private activeChanged(): void {
    const active = this.host.activeRuns.length > 0 || this.options.jobs().activeJobs.length > 0
    if (active === this.active) return
    this.active = active
    this.options.events.publish({ type: 'training.active', active })
  }

  /** Something changed: tell clients and look at the queue again (after the current call returns). */
  private changed(): void {
    this.options.events.publish({ type: 'queue.changed' })
    if (!this.closed) setImmediate(() => this.tick())
  }

  private notice(kind: RunNotice['kind'], runId: number, detail: string): void {
    let name = `run ${runId}`
    try {
      name = this.options.store.getRun(runId).experimentName
    } catch {
      // deleted meanwhile: the id says enough
    }
    const what = kind === 'non-finite' ? 'produced a non-finite loss' : kind === 'interrupted' ? 'was interrupted' : kind
    const message = kind === 'finished' ? `run ${runId} (${name}) finished` : `run ${runId} (${name}) ${what}: ${detail}`
    const notice: RunNotice = { kind, runId, experimentName: name, message, at: new Date(this.clock()).toISOString() }
    this.options.events.publish({ type: 'run.notice', notice })
    if (kind !== 'paused') this.runHook(notice)
  }

  /** The user's command, with RUN_ID, STATUS and MESSAGE in its environment: spawned with its arguments, never through a shell. */
  private runHook(notice: RunNotice): void {
    const command = this.settings().notifyCommand
    if (!command) return
    const [program, ...args] = command
    try {
      const child = spawn(program!, args, {
        env: { ...process.env, RUN_ID: String(notice.runId), STATUS: notice.kind, MESSAGE: notice.message },
        stdio: 'ignore',
        windowsHide: true
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), this.options.hookTimeoutMs ?? 60_000)
      timer.unref()
      child.once('error', (error) => {
        clearTimeout(timer)
        this.options.log?.(`the notify command ${program} could not run: ${error.message}`)
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        if (code !== 0 && code !== null) this.options.log?.(`the notify command ${program} exited with code ${code}`)
      })
    } catch (error) {
      this.options.log?.(`the notify command ${program} could not run: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/** A budget that cannot work: zero hours is refused by the schema; a time already past is refused here. */
function checkBudget(budget: QueueBudget, now: number, field: string): void {
  if (budget.until !== undefined && Date.parse(budget.until) <= now) throw new QueueInputError(`${field}.until: ${budget.until} has already passed`)
}

/** What of the budget is spent at `now` (for the message), or null. */
function budgetSpent(row: QueueRow, sessionStart: number, now: number): string | null {
  if (!row.budget) return null
  const trained = row.trainedS + (now - sessionStart) / 1000
  if (row.budget.hours !== undefined && trained >= row.budget.hours * 3600) return `${row.budget.hours} h of training`
  if (row.budget.until !== undefined && now >= Date.parse(row.budget.until)) return `until ${row.budget.until}`
  return null
}

/** A cycle through `start` in the dependency graph (keys run:N / job:N), as a path of keys, or null. */
function findCycle(edges: Map<string, readonly string[]>, start: string): string[] | null {
  const path: string[] = []
  const seen = new Set<string>()
  const visit = (id: string): string[] | null => {
    path.push(id)
    for (const next of edges.get(id) ?? []) {
      if (next === start) return [...path, start]
      if (seen.has(next)) continue
      seen.add(next)
      const found = visit(next)
      if (found) return found
    }
    path.pop()
    return null
  }
  return visit(start)
}

function localTime(ms: number, timezone: string | null): string {
  return new Date(ms).toLocaleString('en-GB', { timeZone: timezone ?? undefined, weekday: 'short', hour: '2-digit', minute: '2-digit' })
}

interface LiveProgress {
  step: number
  totalSteps: number
  etaS: number | null
  tokensPerS: number
}

function progressShape(value: unknown): LiveProgress | null {
  if (typeof value !== 'object' || value === null) return null
  const p = value as Record<string, unknown>
  if (typeof p.step !== 'number' || typeof p.totalSteps !== 'number') return null
  return { step: p.step, totalSteps: p.totalSteps, etaS: typeof p.etaS === 'number' ? p.etaS : null, tokensPerS: typeof p.tokensPerS === 'number' ? p.tokensPerS : 0 }
}

/** What a queued job does, in a row's words: "evaluate checkpoint 7 (run 3, step 200) on domain news". */
export function describeJob(store: ExperimentStore, kind: JobSummary['kind'], params: Record<string, unknown>): string {
  const text = (key: string): string | null => (typeof params[key] === 'string' ? (params[key] as string) : null)
  let checkpoint = ''
  if (typeof params.checkpointId === 'number') {
    try {
      const c = store.getCheckpoint(params.checkpointId)
      checkpoint = `checkpoint ${c.id} (run ${c.runId}, step ${c.step})`
    } catch {
      checkpoint = `checkpoint ${params.checkpointId} (deleted)`
    }
  } else if (text('checkpointPath')) checkpoint = `checkpoint ${text('checkpointPath')}`
  switch (kind) {
    case 'evaluate':
      return `evaluate ${checkpoint} on ${text('domain') ? `domain ${text('domain')}` : `the text ${text('textPath')}`}`
    case 'finetune':
      return `fine-tune ${checkpoint} on ${text('task')}${typeof params.seeds === 'number' ? ` (${params.seeds} seeds)` : ''}`
    case 'forgetting':
      return `forgetting matrix of run ${String(params.runId)}`
    case 'grow':
      return `grow ${checkpoint} by ${String(params.addLayers)} layers and ${String(params.addHeads)} heads (${text('mode')})`
    case 'export':
      return `export ${checkpoint} to ${text('outDir')}`
    case 'import':
      return `import ${text('path')}`
    case 'domain.add':
      return `add domain ${text('name')}`
    case 'stream.prepare':
      return 'prepare the default stream'
  }
}
