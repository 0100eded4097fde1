// The run queue's rows (schema v8): entries in order and the queue's settings. All of the queue's SQL is
// here; the rules (dependencies, windows, what starts when) are in engine/queue.
import type Database from 'better-sqlite3'
import { QueueBudget, QueueSettings, type RunStatus } from '../../../shared/contract'
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

export interface QueueRow {
  runId: number
  position: number
  priority: number
  group: string | null
  after: number[]
  budget: QueueBudget | null
  trainedS: number
  stopReason: StopReason | null
  message: string | null
  reservedBy: string | null
  enqueuedAt: string
  /** the run's status and owner */
  status: RunStatus
  owner: string | null
}

interface Row {
  run_id: number
  position: number
  priority: number
  group_name: string | null
  after_json: string
  budget_json: string | null
  trained_s: number
  stop_reason: StopReason | null
  message: string | null
  reserved_by: string | null
  enqueued_at: string
  status: RunStatus
  owner: string | null
}

const SELECT = `SELECT q.*, r.status, r.owner FROM queue_entries q JOIN runs r ON r.id = q.run_id`
// finished entries after the rest, each part in queue order
const ORDER = `ORDER BY r.status = 'finished', q.position, q.run_id`

function toRow(row: Row): QueueRow {
  const budget = row.budget_json === null ? null : QueueBudget.safeParse(JSON.parse(row.budget_json))
  return {
    runId: row.run_id,
    position: row.position,
    priority: row.priority,
    group: row.group_name,
    after: JSON.parse(row.after_json) as number[],
    budget: budget?.success ? budget.data : null,
    trainedS: row.trained_s,
    stopReason: row.stop_reason,
    message: row.message,
    reservedBy: row.reserved_by,
    enqueuedAt: row.enqueued_at,
    status: row.status,
    owner: row.owner
  }
}

export interface NewEntry {
  priority: number
  after: readonly number[]
  group: string | null
  budget: QueueBudget | null
  reservedBy: string | null
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

  /** Every entry: the unfinished ones in queue order, then the finished ones. */
  list(): QueueRow[] {
    return (this.db.prepare(`${SELECT} ${ORDER}`).all() as Row[]).map(toRow)
  }

  get(runId: number): QueueRow | null {
    const row = this.db.prepare(`${SELECT} WHERE q.run_id = ?`).get(runId) as Row | undefined
    return row ? toRow(row) : null
  }

  require(runId: number): QueueRow {
    const row = this.get(runId)
    if (!row) throw new StoreError('not_found', `run ${runId} is not in the queue`)
    return row
  }

  /** Add a run's entry before the first unfinished entry of lower priority (else at the end). */
  add(runId: number, entry: NewEntry): void {
    const order = this.list().filter((r) => r.status !== 'finished' && r.runId !== runId)
    const before = order.findIndex((r) => r.priority < entry.priority)
    const ids = order.map((r) => r.runId)
    ids.splice(before < 0 ? ids.length : before, 0, runId)
    this.db
      .prepare(
        `INSERT INTO queue_entries (run_id, position, priority, group_name, after_json, budget_json, reserved_by) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET priority = excluded.priority, reserved_by = excluded.reserved_by, stop_reason = NULL, message = NULL`
      )
      .run(runId, ids.length, entry.priority, entry.group, JSON.stringify(entry.after), entry.budget ? JSON.stringify(entry.budget) : null, entry.reservedBy)
    this.reorder(ids)
  }

  /** Write the unfinished entries' positions in this order (0, 1, …). */
  reorder(runIds: readonly number[]): void {
    const update = this.db.prepare('UPDATE queue_entries SET position = ? WHERE run_id = ?')
    runIds.forEach((id, i) => update.run(i, id))
  }

  update(runId: number, changes: { priority?: number; after?: readonly number[]; group?: string | null; budget?: QueueBudget | null }): void {
    const current = this.require(runId)
    this.db
      .prepare('UPDATE queue_entries SET priority = ?, after_json = ?, group_name = ?, budget_json = ? WHERE run_id = ?')
      .run(
        changes.priority ?? current.priority,
        JSON.stringify(changes.after ?? current.after),
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

  /** Runs of the queue that run now (any process): what the slots count. */
  runningCount(): number {
    return this.db.prepare("SELECT count(*) FROM queue_entries q JOIN runs r ON r.id = q.run_id WHERE r.status = 'running'").pluck().get() as number
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
