// What the Queue view, the sweep form and the Runs view's morning summary derive from the queue contract
// (issue 14): durations and local finish times, the time window as simple fields, the notify command as text,
// keyboard moves, sweep values, and what ran since a chosen time. Pure functions, tested in test/shared.
import type { QueueBudget, QueueEntry, QueueRef, QueueWindow, RunSummary } from './contract'

// ---- durations and times ----------------------------------------------------------------------------------

/** A remaining duration as people say it: "45 s", "12 min", "2 h 05 min", "1 d 3 h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  const m = Math.round(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, '0')} min`
  const d = Math.floor(h / 24)
  return `${d} d ${h % 24} h`
}

const sameDay = (a: Date, b: Date): boolean => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()

/** A moment in local time, relative to now: "today 23:40", "tomorrow 07:12", "Thu 3 Dec 07:12". */
export function formatLocalTime(iso: string, now: Date = new Date(), locale?: string): string {
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return iso
  const clock = t.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
  if (sameDay(t, now)) return `today ${clock}`
  const tomorrow = new Date(now)
  tomorrow.setDate(now.getDate() + 1)
  if (sameDay(t, tomorrow)) return `tomorrow ${clock}`
  return `${t.toLocaleDateString(locale, { weekday: 'short', day: 'numeric', month: 'short' })} ${clock}`
}

/** The first line of a message (an error's stack or a multi-line notice), trimmed. */
export function firstLine(text: string | null | undefined): string {
  return (text ?? '').split(/\r?\n/, 1)[0]!.trim()
}

// ---- the time window as simple fields ------------------------------------------------------------------------

export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const

/** The window as the settings form edits it: no window, daily start/end/weekdays, or an advanced cron expression. */
export interface WindowForm {
  mode: 'always' | 'daily' | 'cron'
  start: string
  end: string
  days: number[]
  cron: string
  minutes: number
}

export function windowToForm(window: QueueWindow | null): WindowForm {
  const form: WindowForm = { mode: 'always', start: '20:00', end: '07:30', days: [1, 2, 3, 4, 5], cron: '0 20 * * 1-5', minutes: 690 }
  if (window?.kind === 'daily') return { ...form, mode: 'daily', start: window.start, end: window.end, days: [...window.days].sort((a, b) => a - b) }
  if (window?.kind === 'cron') return { ...form, mode: 'cron', cron: window.cron, minutes: window.minutes }
  return form
}

/** The window the form describes (the engine checks it again and names the field when it refuses). */
export function formToWindow(form: WindowForm): QueueWindow | null {
  if (form.mode === 'daily') return { kind: 'daily', start: form.start, end: form.end, days: [...new Set(form.days)].sort((a, b) => a - b) }
  if (form.mode === 'cron') return { kind: 'cron', cron: form.cron.trim(), minutes: form.minutes }
  return null
}

/** "Mon–Fri", "Sat, Sun", "every day". */
export function describeDays(days: readonly number[]): string {
  const set = [...new Set(days)].sort((a, b) => a - b)
  if (set.length === 7) return 'every day'
  if (set.length >= 3 && set.every((d, i) => i === 0 || d === set[i - 1]! + 1)) return `${WEEKDAYS[set[0]!]}–${WEEKDAYS[set[set.length - 1]!]}`
  return set.map((d) => WEEKDAYS[d]).join(', ')
}

/** One line for the window: "20:00–07:30, starting Mon–Fri", "cron 0 20 * * 1-5 for 11 h 30 min", "always open". */
export function describeWindow(window: QueueWindow | null): string {
  if (!window) return 'always open'
  if (window.kind === 'daily') return `${window.start}–${window.end}${window.end <= window.start ? ' (next day)' : ''}, starting ${describeDays(window.days)}`
  return `cron ${window.cron} for ${formatDuration(window.minutes * 60)}`
}

// ---- the notify command (an argv, no shell) as one text field ------------------------------------------------

/** Split a command line into its arguments: whitespace separates, single or double quotes group; empty text is no command. */
export function parseCommand(text: string): string[] | null {
  const args: string[] = []
  let current = ''
  let quote: '"' | "'" | null = null
  let started = false
  for (const ch of text.trim()) {
    if (quote) {
      if (ch === quote) quote = null
      else current += ch
    } else if (ch === '"' || ch === "'") {
      quote = ch
      started = true
    } else if (/\s/.test(ch)) {
      if (started) args.push(current)
      current = ''
      started = false
    } else {
      current += ch
      started = true
    }
  }
  if (quote) throw new Error(`notify command: unclosed ${quote} quote`)
  if (started) args.push(current)
  return args.length ? args : null
}

export function formatCommand(argv: readonly string[] | null): string {
  return (argv ?? []).map((a) => (a === '' || /[\s"']/.test(a) ? (a.includes("'") ? `"${a}"` : `'${a}'`) : a)).join(' ')
}

// ---- reordering -------------------------------------------------------------------------------------------------

/** Where a key pressed on a queue row moves it (Alt+ArrowUp/Down by one, Alt+Home/End to the top/bottom), or null. */
export function keyMove(key: { key: string; altKey: boolean }, index: number, count: number): 'top' | 'bottom' | number | null {
  if (!key.altKey) return null
  if (key.key === 'ArrowUp') return index > 0 ? index - 1 : null
  if (key.key === 'ArrowDown') return index < count - 1 ? index + 1 : null
  if (key.key === 'Home') return index > 0 ? 'top' : null
  if (key.key === 'End') return index < count - 1 ? 'bottom' : null
  return null
}

/** The order after moving one entry (what the view shows until the engine answers with the queue). */
export function reorder<T extends { runId: number }>(entries: readonly T[], runId: number, to: 'top' | 'bottom' | number): T[] {
  const from = entries.findIndex((e) => e.runId === runId)
  if (from < 0) return [...entries]
  const rest = entries.filter((e) => e.runId !== runId)
  const at = to === 'top' ? 0 : to === 'bottom' ? rest.length : Math.max(0, Math.min(rest.length, to))
  rest.splice(at, 0, entries[from]!)
  return rest
}

/** An entry's key in the view (element ids, test ids): a run's id as it always was ("7"), a job's "job-3". */
export const entryKey = (e: QueueEntry): string => (e.kind === 'run' ? String(e.runId) : `job-${e.jobId}`)
/** How the contract names the entry: { runId } or { jobId }. */
export const entryRef = (e: QueueEntry): QueueRef => (e.kind === 'run' ? { runId: e.runId } : { jobId: e.jobId })
/** "run 7" or "job 3", for labels and announcements. */
export const entryName = (e: QueueEntry): string => (e.kind === 'run' ? `run ${e.runId}` : `job ${e.jobId}`)

/** Move the entry with this key (entryKey) to the top, the bottom or an index: the order the view shows until the engine answers. */
export function reorderEntries(entries: readonly QueueEntry[], key: string, to: 'top' | 'bottom' | number): QueueEntry[] {
  const keyed = entries.map((e) => ({ e, runId: 0, key: entryKey(e) }))
  keyed.forEach((k, i) => (k.runId = i + 1))
  const moved = keyed.find((k) => k.key === key)
  return moved ? reorder(keyed, moved.runId, to).map((k) => k.e) : [...entries]
}

/** The queue's own entries in order (finished ones are only history). */
export function pendingEntries(entries: readonly QueueEntry[]): QueueEntry[] {
  return entries.filter((e) => e.state !== 'finished').sort((a, b) => a.position - b.position)
}

// ---- sweeps -------------------------------------------------------------------------------------------------------

/** "1, 2, 3" or "1-3": seeds as integers (refused naming the field). */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = []
  for (const part of text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part)
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])]
      if (b < a || b - a >= 100) throw new Error(`seeds: range ${part} must go up and hold at most 100 seeds`)
      for (let s = a; s <= b; s++) seeds.push(s)
    } else if (/^\d+$/.test(part)) seeds.push(Number(part))
    else throw new Error(`seeds: "${part}" is not a whole number`)
  }
  return [...new Set(seeds)]
}

/** An option's values as typed, comma separated: numbers, true/false, otherwise text. */
export function parseValues(text: string): Array<number | string | boolean> {
  return text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => (v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v))
}

/** How many runs a sweep queues. */
export const sweepSize = (methods: number, seeds: number, optionValues: readonly number[]): number =>
  Math.max(1, methods) * Math.max(1, seeds) * optionValues.reduce((n, v) => n * Math.max(1, v), 1)

// ---- the morning summary ----------------------------------------------------------------------------------------

/** Yesterday at 18:00, local time: the default start of "what ran overnight". */
export function defaultSince(now: Date = new Date()): Date {
  const d = new Date(now)
  d.setDate(d.getDate() - 1)
  d.setHours(18, 0, 0, 0)
  return d
}

/** A Date as the value of an <input type="datetime-local"> (local time, minutes). */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

export interface MorningSummary {
  finished: RunSummary[]
  failed: Array<{ run: RunSummary; error: string }>
  running: RunSummary[]
  /** cancelled runs, and queued runs that have not started yet */
  other: RunSummary[]
  /** the sweep groups (and runs without a group, as null) among these runs, with their ids to compare */
  groups: Array<{ name: string | null; runIds: number[] }>
}

const ms = (iso: string | null): number => (iso ? new Date(iso).getTime() : NaN)

/** What ran since `since`: runs that started or ended after it, or are still running. */
export function morningSummary(runs: readonly RunSummary[], since: Date, groupOf: ReadonlyMap<number, string | null> = new Map()): MorningSummary {
  const t = since.getTime()
  const ran = runs
    .filter((r) => r.status === 'running' || r.status === 'paused' || ms(r.startedAt) >= t || ms(r.endedAt) >= t)
    .sort((a, b) => (ms(a.startedAt) || ms(a.createdAt)) - (ms(b.startedAt) || ms(b.createdAt)) || a.id - b.id)
  const summary: MorningSummary = { finished: [], failed: [], running: [], other: [], groups: [] }
  const groups = new Map<string | null, number[]>()
  for (const r of ran) {
    if (r.status === 'finished') summary.finished.push(r)
    else if (r.status === 'failed') summary.failed.push({ run: r, error: firstLine(r.error) || 'failed without a message' })
    else if (r.status === 'running' || r.status === 'paused') summary.running.push(r)
    else summary.other.push(r)
    const g = groupOf.get(r.id) ?? null
    groups.set(g, [...(groups.get(g) ?? []), r.id])
  }
  summary.groups = [...groups].map(([name, runIds]) => ({ name, runIds })).sort((a, b) => (a.name === null ? 1 : b.name === null ? -1 : a.name.localeCompare(b.name)))
  return summary
}

// ---- budgets ------------------------------------------------------------------------------------------------------

/** A local moment as ISO with its offset (what QueueBudget.until takes): 2026-12-03T07:00:00+01:00. */
export function toIsoWithOffset(d: Date): string {
  const p = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0')
  const off = -d.getTimezoneOffset()
  return `${toLocalInput(d)}:${p(d.getSeconds())}${off >= 0 ? '+' : '-'}${p(off / 60)}:${p(off % 60)}`
}

/** The budget form's fields (hours, a local datetime) as a budget; empty fields: no budget (null). */
export function budgetFromFields(hoursField: string | number, until: string): QueueBudget | null {
  // a number input's v-model hands over a number once something is typed, '' when empty
  const hours = String(hoursField)
  const budget: QueueBudget = {}
  if (hours.trim() !== '') {
    const h = Number(hours)
    if (!Number.isFinite(h) || h <= 0) throw new Error(`budget.hours: "${hours}" is not a positive number of hours`)
    budget.hours = h
  }
  if (until.trim() !== '') {
    const d = new Date(until)
    if (Number.isNaN(d.getTime())) throw new Error(`budget.until: "${until}" is not a date and time`)
    budget.until = toIsoWithOffset(d)
  }
  return budget.hours === undefined && budget.until === undefined ? null : budget
}

/** The fields of a queue entry's edit form, as typed. */
export interface EntryFields {
  /** a number input: a number once typed, '' when empty */
  priority: string | number
  /** run ids, separated by commas or spaces: "12, 14" */
  after: string
  group: string
  hours: string | number
  until: string
}

/** An entry's edit form filled with what the entry has now (a budget's time is re-entered, not shown back). */
export function entryFields(e: { priority: number; after: readonly number[]; group: string | null; budget: QueueBudget | null }): EntryFields {
  return { priority: String(e.priority), after: e.after.join(', '), group: e.group ?? '', hours: e.budget?.hours !== undefined ? String(e.budget.hours) : '', until: '' }
}

/**
 * The edit form as queue.update's changes: priority, dependencies, group (empty: none) and budget. Bad fields
 * throw naming the field; the engine refuses unknown runs and cycles the same way.
 */
export function entryChanges(fields: EntryFields): { priority: number; after: number[]; group: string | null; budget: QueueBudget | null } {
  const priority = Number(String(fields.priority).trim() === '' ? '0' : fields.priority)
  if (!Number.isInteger(priority)) throw new Error(`priority: "${fields.priority}" is not a whole number`)
  const after = fields.after
    .split(/[\s,]+/)
    .filter((t) => t !== '')
    .map((t) => {
      const id = Number(t.replace(/^#/, ''))
      if (!Number.isInteger(id) || id <= 0) throw new Error(`after: "${t}" is not a run id`)
      return id
    })
  const group = fields.group.trim() === '' ? null : fields.group.trim()
  return { priority, after: [...new Set(after)], group, budget: budgetFromFields(fields.hours, fields.until) }
}

/**
 * The settings form's "stop the queue at" field (a local datetime, empty: none) as a change of QueueSettings.stopAt:
 * nothing when it names the stored moment, so saving other settings never re-sends (and re-checks) it.
 */
export function stopAtChange(input: string, stored: string | null): { stopAt?: string | null } {
  if (input.trim() === '') return stored === null ? {} : { stopAt: null }
  const d = new Date(input)
  if (Number.isNaN(d.getTime())) throw new Error(`stopAt: "${input}" is not a date and time`)
  if (stored !== null && Math.abs(Date.parse(stored) - d.getTime()) < 60_000) return {}
  return { stopAt: toIsoWithOffset(d) }
}

/** "2 h (0 h 40 min used)", "until tomorrow 07:00", both joined; "none". */
export function describeBudget(budget: QueueBudget | null, trainedS = 0, now: Date = new Date()): string {
  if (!budget) return 'none'
  const parts: string[] = []
  if (budget.hours !== undefined) parts.push(`${formatDuration(budget.hours * 3600)}${trainedS > 0 ? ` (${formatDuration(trainedS)} used)` : ''}`)
  if (budget.until !== undefined) parts.push(`until ${formatLocalTime(budget.until, now)}`)
  return parts.join(', ')
}
