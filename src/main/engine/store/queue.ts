// The queue's rows (schema v8; jobs since v11): entries in order and the queue's settings. All of the queue's SQL is
// here; the rules (dependencies, windows, what starts when) are in engine/queue.
import type Database from 'better-sqlite3'
import { QueueBudget, QueueSettings, type JobKind, type JobStatus, type RunStatus } from '../../../shared/contract'
import { StoreError } from './open'

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  slots: 1,
  window: null,
  timezone: null,
  autoResume: true,
  stallMinutes: 15,
  defaultBudget: null,
  notifyCommand: null,
  stopAt: null
}

/** why an entry last stopped on the queue's account */
export const STOP_REASONS = ['window', 'paused', 'shutdown', 'budget', 'interrupted'] as const
export type StopReason = (typeof STOP_REASONS)[number]

/** An entry's identity: the run or the job it queues. */
export type EntryRef = { kind: 'run'; id: number } | { kind: 'job'; id: number }
export const refKey = (ref: EntryRef): string => `${ref.kind}:${ref.id}`

interface EntryFields {
  position: number
  priority: number
  group: string | null
  /** runs, then jobs, that must finish first */
  after: number[]
  afterJobs: number[]
  stopReason: StopReason | null
  message: string | null
  enqueuedAt: string
}

/** A run's entry. */
export interface QueueRow extends EntryFields {
  kind: 'run'
  runId: number
  budget: QueueBudget | null
  trainedS: number
  reservedBy: string | null
  /** the run's status and owner */
  status: RunStatus
  owner: string | null
}

/** A job's entry (schema v11): the job is recorded (status queued) when it is queued; `work` is what its worker gets. */
export interface JobQueueRow extends EntryFields {
  kind: 'job'
  jobId: number
  jobKind: JobKind
  work: Record<string, unknown>
  status: JobStatus
  owner: string | null
}

export type AnyQueueRow = QueueRow | JobQueueRow
export const rowRef = (row: AnyQueueRow): EntryRef => (row.kind === 'run' ? { kind: 'run', id: row.runId } : { kind: 'job', id: row.jobId })

interface Row {
  kind: 'run' | 'job'
  run_id: number | null
  job_id: number | null
  position: number
  priority: number
  group_name: string | null
  after_json: string
  after_jobs_json: string
  budget_json: string | null
  trained_s: number
  stop_reason: StopReason | null
  message: string | null
  reserved_by: string | null
  work_json: string | null
  enqueued_at: string
  run_status: RunStatus | null
  run_owner: string | null
  job_status: JobStatus | null
  job_owner: string | null
  job_kind: JobKind | null
}

const SELECT = `SELECT q.*, r.status AS run_status, r.owner AS run_owner, j.status AS job_status, j.owner AS job_owner, j.kind AS job_kind
  FROM queue_entries q LEFT JOIN runs r ON r.id = q.run_id LEFT JOIN jobs j ON j.id = q.job_id`
// finished entries after the rest, each part in queue order
const ORDER = `ORDER BY coalesce(r.status, j.status) = 'finished', q.position, q.id`

function toRow(row: Row): AnyQueueRow {
  const fields: EntryFields = {
    position: row.position,
    priority: row.priority,
    group: row.group_name,
    after: JSON.parse(row.after_json) as number[],
    afterJobs: JSON.parse(row.after_jobs_json) as number[],
    stopReason: row.stop_reason,
    message: row.message,
    enqueuedAt: row.enqueued_at
  }
  if (row.kind === 'job')
    return {
      kind: 'job',
      jobId: row.job_id!,
      jobKind: row.job_kind!,
      work: JSON.parse(row.work_json ?? '{}') as Record<string, unknown>,
      status: row.job_status!,
      owner: row.job_owner,
      ...fields
    }
  const budget = row.budget_json === null ? null : QueueBudget.safeParse(JSON.parse(row.budget_json))
  return {
    kind: 'run',
    runId: row.run_id!,
    budget: budget?.success ? budget.data : null,
    trainedS: row.trained_s,
    reservedBy: row.reserved_by,
    status: row.run_status!,
    owner: row.run_owner,
    ...fields
  }
}

const isRun = (row: AnyQueueRow): row is QueueRow => row.kind === 'run'

export interface NewEntry {
  priority: number
  after: readonly number[]
  afterJobs?: readonly number[]
  group: string | null
  budget: QueueBudget | null
  reservedBy: string | null
}

export interface NewJobEntry {
  priority: number
  after: readonly number[]
  afterJobs: readonly number[]
  group: string | null
  work: Record<string, unknown>
}

export class QueueStore {
  constructor(private readonly db: Database.Database) {}

  state(): { settings: QueueSettings; paused: boolean } {
    const row = this.db.prepare('SELECT settings_json, paused FROM queue_state WHERE id = 1').get() as { settings_json: string; paused: number } | undefined
    const stored = row ? (JSON.parse(row.settings_json) as Record<string, unknown>) : {}
    // settings written by a later version, or damaged by hand: each unreadable field falls back to its default
    const settings = { ...DEFAULT_QUEUE_SETTINGS }
    for (const key of Object.keys(DEFAULT_QUEUE_SETTINGS) as Array<keyof QueueSettings>) {
      if (!(key in stored)) continue
      const parsed = QueueSettings.shape[key].safeParse(stored[key])
      if (parsed.success) Object.assign(settings, { [key]: parsed.data })
    }
    return { settings, paused: row?.paused === 1 }
  }

  setSettings(settings: QueueSettings): void {
    this.db.prepare('INSERT INTO queue_state (id, settings_json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET settings_json = excluded.settings_json').run(JSON.stringify(settings))
  }

  setPaused(paused: boolean): void {
    this.db.prepare('INSERT INTO queue_state (id, paused) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET paused = excluded.paused').run(paused ? 1 : 0)
  }

  /** Every entry of both kinds: the unfinished ones in queue order, then the finished ones. */
  all(): AnyQueueRow[] {
    return (this.db.prepare(`${SELECT} ${ORDER}`).all() as Row[]).map(toRow)
  }

  /** The run entries, in the same order. */
  list(): QueueRow[] {
    return this.all().filter(isRun)
  }

  jobRows(): JobQueueRow[] {
    return this.all().filter((r): r is JobQueueRow => r.kind === 'job')
  }

  /** The unfinished entries of both kinds in queue order: what moves and positions are written over. */
  order(): EntryRef[] {
    return this.all()
      .filter((r) => r.status !== 'finished')
      .map(rowRef)
  }

  get(runId: number): QueueRow | null {
    const row = this.db.prepare(`${SELECT} WHERE q.run_id = ?`).get(runId) as Row | undefined
    return row ? (toRow(row) as QueueRow) : null
  }

  getJob(jobId: number): JobQueueRow | null {
    const row = this.db.prepare(`${SELECT} WHERE q.job_id = ?`).get(jobId) as Row | undefined
    return row ? (toRow(row) as JobQueueRow) : null
  }

  require(runId: number): QueueRow {
    const row = this.get(runId)
    if (!row) throw new StoreError('not_found', `run ${runId} is not in the queue`)
    return row
  }

  requireRef(ref: EntryRef): AnyQueueRow {
    if (ref.kind === 'run') return this.require(ref.id)
    const row = this.getJob(ref.id)
    if (!row) throw new StoreError('not_found', `job ${ref.id} is not in the queue`)
    return row
  }

  /** Where a new entry of this priority goes: before the first unfinished entry of lower priority (else at the end). */
  private place(ref: EntryRef, priority: number): EntryRef[] {
    const key = refKey(ref)
    const order = this.all().filter((r) => r.status !== 'finished' && refKey(rowRef(r)) !== key)
    const before = order.findIndex((r) => r.priority < priority)
    const refs = order.map(rowRef)
    refs.splice(before < 0 ? refs.length : before, 0, ref)
    return refs
  }

  /** Add a run's entry before the first unfinished entry of lower priority (else at the end). */
  add(runId: number, entry: NewEntry): void {
    const refs = this.place({ kind: 'run', id: runId }, entry.priority)
    this.db
      .prepare(
        `INSERT INTO queue_entries (kind, run_id, position, priority, group_name, after_json, after_jobs_json, budget_json, reserved_by) VALUES ('run', ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET priority = excluded.priority, reserved_by = excluded.reserved_by, stop_reason = NULL, message = NULL`
      )
      .run(
        runId,
        refs.length,
        entry.priority,
        entry.group,
        JSON.stringify(entry.after),
        JSON.stringify(entry.afterJobs ?? []),
        entry.budget ? JSON.stringify(entry.budget) : null,
        entry.reservedBy
      )
    this.reorder(refs)
  }

  /** Add a recorded job's entry, placed as a run's would be. */
  addJob(jobId: number, entry: NewJobEntry): void {
    const refs = this.place({ kind: 'job', id: jobId }, entry.priority)
    this.db
      .prepare(`INSERT INTO queue_entries (kind, job_id, position, priority, group_name, after_json, after_jobs_json, work_json) VALUES ('job', ?, ?, ?, ?, ?, ?, ?)`)
      .run(jobId, refs.length, entry.priority, entry.group, JSON.stringify(entry.after), JSON.stringify(entry.afterJobs), JSON.stringify(entry.work))
    this.reorder(refs)
  }

  /** Write the unfinished entries' positions in this order (0, 1, …); plain numbers are run ids. */
  reorder(refs: ReadonlyArray<EntryRef | number>): void {
    const run = this.db.prepare('UPDATE queue_entries SET position = ? WHERE run_id = ?')
    const job = this.db.prepare('UPDATE queue_entries SET position = ? WHERE job_id = ?')
    refs.forEach((ref, i) => {
      if (typeof ref === 'number') run.run(i, ref)
      else (ref.kind === 'run' ? run : job).run(i, ref.id)
    })
  }

  /** Change a job entry's priority, dependencies or group. */
  updateJob(jobId: number, changes: { priority?: number; after?: readonly number[]; afterJobs?: readonly number[]; group?: string | null }): void {
    this.db
      .prepare('UPDATE queue_entries SET priority = coalesce(?, priority), after_json = coalesce(?, after_json), after_jobs_json = coalesce(?, after_jobs_json) WHERE job_id = ?')
      .run(changes.priority ?? null, changes.after ? JSON.stringify(changes.after) : null, changes.afterJobs ? JSON.stringify(changes.afterJobs) : null, jobId)
    if (changes.group !== undefined) this.db.prepare('UPDATE queue_entries SET group_name = ? WHERE job_id = ?').run(changes.group, jobId)
  }

  removeJob(jobId: number): void {
    this.db.prepare('DELETE FROM queue_entries WHERE job_id = ?').run(jobId)
  }

  jobExists(jobId: number): boolean {
    return this.db.prepare('SELECT 1 FROM jobs WHERE id = ?').get(jobId) !== undefined
  }

  jobStatus(jobId: number): JobStatus | null {
    return (this.db.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(jobId) as JobStatus | undefined) ?? null
  }

  update(runId: number, changes: { priority?: number; after?: readonly number[]; afterJobs?: readonly number[]; group?: string | null; budget?: QueueBudget | null }): void {
    const current = this.require(runId)
    this.db
      .prepare('UPDATE queue_entries SET priority = ?, after_json = ?, after_jobs_json = ?, group_name = ?, budget_json = ? WHERE run_id = ?')
      .run(
        changes.priority ?? current.priority,
        JSON.stringify(changes.after ?? current.after),
        JSON.stringify(changes.afterJobs ?? current.afterJobs),
        changes.group === undefined ? current.group : changes.group,
        changes.budget === undefined ? (current.budget ? JSON.stringify(current.budget) : null) : changes.budget ? JSON.stringify(changes.budget) : null,
        runId
      )
  }

  remove(runId: number): void {
    this.db.prepare('DELETE FROM queue_entries WHERE run_id = ?').run(runId)
  }

  setStop(runId: number, reason: StopReason | null, message: string | null = null): void {
    this.db.prepare('UPDATE queue_entries SET stop_reason = ?, message = ? WHERE run_id = ?').run(reason, message, runId)
  }

  setMessage(runId: number, message: string | null): void {
    this.db.prepare('UPDATE queue_entries SET message = ? WHERE run_id = ?').run(message, runId)
  }

  addTrained(runId: number, seconds: number): void {
    this.db.prepare('UPDATE queue_entries SET trained_s = trained_s + ? WHERE run_id = ?').run(Math.max(0, seconds), runId)
  }

  resetTrained(runId: number): void {
    this.db.prepare('UPDATE queue_entries SET trained_s = 0 WHERE run_id = ?').run(runId)
  }

  setReserved(runId: number, owner: string | null): void {
    this.db.prepare('UPDATE queue_entries SET reserved_by = ? WHERE run_id = ?').run(owner, runId)
  }

  /** Runs and jobs of the queue that run now (any process): what the slots count (a job takes one). */
  runningCount(): number {
    return this.db
      .prepare("SELECT count(*) FROM queue_entries q LEFT JOIN runs r ON r.id = q.run_id LEFT JOIN jobs j ON j.id = q.job_id WHERE coalesce(r.status, j.status) = 'running'")
      .pluck()
      .get() as number
  }

  runExists(runId: number): boolean {
    return this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId) !== undefined
  }

  runStatus(runId: number): RunStatus | null {
    return (this.db.prepare('SELECT status FROM runs WHERE id = ?').pluck().get(runId) as RunStatus | undefined) ?? null
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate()
  }
}
