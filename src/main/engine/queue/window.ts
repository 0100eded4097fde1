// Time windows of the run queue (docs/queue.md): when the queue may train, in local time (or a named zone).
// Both forms become one cron expression (when the window opens) and a length in minutes; croner reads the
// expression in the zone. A window is open at t when the expression fired in (t − length, t].
import { Cron } from 'croner'
import type { QueueWindow } from '../../../shared/contract'

/** A window the user gave that cannot work (zero length, a cron expression that never fires, an unknown zone): names the field. */
export class WindowError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WindowError'
  }
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MINUTE = 60_000
/** the most fires followed when finding where overlapping windows end (an always-open cron stops here) */
const MAX_CHAIN = 2000

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))

export interface CompiledWindow {
  cron: Cron
  minutes: number
  /** "20:00-07:30 Mon-Fri" or "cron 0 20 * * 1-5 for 690 min" */
  text: string
}

/** Check a zone name (null: the engine's local time). */
export function checkTimezone(timezone: string | null, field = 'timezone'): void {
  if (timezone === null) return
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone })
  } catch {
    throw new WindowError(`${field}: unknown time zone "${timezone}" (expected an IANA name such as Europe/Berlin)`)
  }
}

/** The window as a cron expression and a length; refuses one that can never be open, naming the field. */
export function compileWindow(window: QueueWindow, timezone: string | null, field = 'window'): CompiledWindow {
  checkTimezone(timezone)
  let pattern: string
  let minutes: number
  let text: string
  if (window.kind === 'daily') {
    const start = minutesOf(window.start)
    const end = minutesOf(window.end)
    if (start === end) throw new WindowError(`${field}.end: the window ${window.start}-${window.end} has zero length (start and end are equal)`)
    minutes = (end - start + 1440) % 1440
    const days = [...new Set(window.days)].sort((a, b) => a - b)
    pattern = `${start % 60} ${Math.floor(start / 60)} * * ${days.join(',')}`
    text = `${window.start}-${window.end} ${days.length === 7 ? 'every day' : days.map((d) => DAY_NAMES[d]).join(',')}`
  } else {
    pattern = window.cron
    minutes = window.minutes
    text = `cron "${window.cron}" for ${window.minutes} min`
  }
  let cron: Cron
  try {
    cron = new Cron(pattern, { timezone: timezone ?? undefined, paused: true })
  } catch (error) {
    throw new WindowError(`${field}.cron: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (cron.nextRun() === null) throw new WindowError(`${field}.cron: the expression "${pattern}" never fires`)
  return { cron, minutes, text }
}

/** The latest fire in (t − length, t], or null (closed at t). */
function openedAt(w: CompiledWindow, t: number): number | null {
  const first = w.cron.nextRun(new Date(t - w.minutes * MINUTE))
  if (!first || first.getTime() > t) return null
  let last = first.getTime()
  for (let i = 0; i < MAX_CHAIN; i++) {
    const next = w.cron.nextRun(new Date(last))
    if (!next || next.getTime() > t) break
    last = next.getTime()
  }
  return last
}

export function isOpen(w: CompiledWindow | null, t: number): boolean {
  return w === null || openedAt(w, t) !== null
}

/** When the window next changes after t: its end while open (null: it never closes), its next start while closed. */
export function nextChange(w: CompiledWindow | null, t: number): number | null {
  if (w === null) return null
  const opened = openedAt(w, t)
  if (opened === null) return w.cron.nextRun(new Date(t))?.getTime() ?? null
  let fired = opened
  let end = opened + w.minutes * MINUTE
  // a fire before the end keeps the window open longer (overlapping windows)
  for (let i = 0; i < MAX_CHAIN; i++) {
    const next = w.cron.nextRun(new Date(fired))
    if (!next || next.getTime() >= end) return end
    fired = next.getTime()
    end = fired + w.minutes * MINUTE
  }
  return null
}

/**
 * When `workS` seconds of training done only while the window is open would be through, starting at t.
 * Null when it never would be (the window never opens again).
 */
export function finishTime(w: CompiledWindow | null, t: number, workS: number): number | null {
  let left = workS * 1000
  let now = t
  for (let i = 0; i < 10_000; i++) {
    if (left <= 0) return now
    if (w === null) return now + left
    const change = nextChange(w, now)
    if (isOpen(w, now)) {
      if (change === null) return now + left
      const span = Math.min(left, change - now)
      left -= span
      now += span
    } else {
      if (change === null) return null
      now = change
    }
  }
  return null
}
