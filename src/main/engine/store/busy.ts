// When another process holds the store's write lock (an sqlite3 shell inside a transaction, a backup tool,
// a second workbench) for longer than SQLite's busy_timeout, a write fails with SQLITE_BUSY. Training must
// not die of that: writes are retried with exponential backoff, and a run fails only after a long, stated
// timeout. A full disk (SQLITE_FULL, ENOSPC) is named in one line instead of a stack trace.
import type Database from 'better-sqlite3'

/** How long writes wait for a locked store. Tests shorten it; the defaults are for people. */
export interface BusyPolicy {
  /** total time to keep retrying before giving up (default 10 minutes) */
  timeoutMs: number
  /** first pause between attempts, doubled after each failure up to `maxDelayMs` */
  initialDelayMs: number
  maxDelayMs: number
  /** SQLite's own wait inside one attempt (the connection's busy_timeout) */
  busyTimeoutMs: number
}

export const DEFAULT_BUSY_POLICY: BusyPolicy = { timeoutMs: 10 * 60_000, initialDelayMs: 100, maxDelayMs: 5_000, busyTimeoutMs: 5_000 }

export const busyPolicy = (overrides: Partial<BusyPolicy> = {}): BusyPolicy => ({ ...DEFAULT_BUSY_POLICY, ...overrides })

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_RECOVERY, ...), and SQLITE_LOCKED. */
export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
}

export function isDiskFullError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT'
}

/** The store stayed locked by another process for the whole retry timeout. */
export class StoreLockedError extends Error {
  constructor(
    readonly file: string,
    readonly waitedMs: number
  ) {
    super(
      `the experiment store ${file} stayed locked by another process for ${describeMs(waitedMs)} (an sqlite3 shell or backup tool inside a transaction?); nothing was lost up to the last checkpoint`
    )
    this.name = 'StoreLockedError'
  }
}

/** The disk under the store or the run's checkpoints is full: one line, with what to do. */
export class DiskFullError extends Error {
  constructor(where: string, runId?: number) {
    super(`disk full: could not write ${where}; free some space, then resume the run${runId === undefined ? '' : ` with "elle run --resume ${runId}"`}`)
    this.name = 'DiskFullError'
  }
}

export function describeMs(ms: number): string {
  if (ms >= 60_000) {
    const minutes = Math.round(ms / 6_000) / 10
    return `${minutes} minute${minutes === 1 ? '' : 's'}`
  }
  const seconds = Math.round(ms / 100) / 10
  return `${seconds} second${seconds === 1 ? '' : 's'}`
}

/** The serving thread must not block for seconds on a locked store: its writes wait at most `ms` inside
 *  SQLite and are retried by the caller's policy instead. */
export function withBusyTimeout<T>(db: Database.Database, ms: number, write: () => T): T {
  const previous = db.pragma('busy_timeout', { simple: true }) as number
  if (previous <= ms) return write()
  db.pragma(`busy_timeout = ${Math.round(ms)}`)
  try {
    return write()
  } finally {
    db.pragma(`busy_timeout = ${previous}`)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Run a store write, retrying it while the store is locked by another process. `write` must be safe to
 * repeat (one transaction that either committed or did nothing). Other errors pass through at once.
 */
export async function whenStoreFree<T>(file: string, policy: BusyPolicy, write: () => T): Promise<T> {
  const started = Date.now()
  let delay = policy.initialDelayMs
  for (;;) {
    try {
      return write()
    } catch (error) {
      if (!isBusyError(error)) throw error
      const waited = Date.now() - started
      if (waited >= policy.timeoutMs) throw new StoreLockedError(file, waited)
      await sleep(Math.min(delay, policy.timeoutMs - waited))
      delay = Math.min(delay * 2, policy.maxDelayMs)
    }
  }
}

/**
 * The same policy for writes that cannot wait (a metrics flush between two updates): each call tries once;
 * a busy store is remembered and only an unbroken busy period longer than the timeout is an error.
 */
export class BusyTracker {
  private since: number | null = null
  private nextAttempt = 0
  private delay: number

  constructor(
    private readonly file: string,
    private readonly policy: BusyPolicy,
    private readonly now: () => number = Date.now
  ) {
    this.delay = policy.initialDelayMs
  }

  /** true when the write happened, false when the store was busy (try again later; backs off between tries). */
  attempt(write: () => void): boolean {
    const now = this.now()
    if (this.since !== null && now < this.nextAttempt) return false
    try {
      write()
      this.since = null
      this.delay = this.policy.initialDelayMs
      return true
    } catch (error) {
      if (!isBusyError(error)) throw error
      const failed = this.now()
      this.since ??= now
      if (failed - this.since >= this.policy.timeoutMs) throw new StoreLockedError(this.file, failed - this.since)
      this.nextAttempt = failed + this.delay
      this.delay = Math.min(this.delay * 2, this.policy.maxDelayMs)
      return false
    }
  }
}
