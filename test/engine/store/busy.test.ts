// Writes against a store another connection holds locked (BEGIN IMMEDIATE, as an sqlite3 shell or a
// backup tool does): retried with backoff while the lock lasts, an error naming the lock after the timeout.
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BusyTracker, busyPolicy, isBusyError, StoreLockedError, whenStoreFree } from '../../../src/main/engine/store/busy'
import { ExperimentStore, type MetricPoint } from '../../../src/main/engine/store/store'
import { tempDir } from '../../helpers/tmp'

const policy = busyPolicy({ timeoutMs: 400, initialDelayMs: 10, maxDelayMs: 40, busyTimeoutMs: 5 })
let store: ExperimentStore
let holder: Database.Database
let runId: number
const point = (step: number): MetricPoint => ({ runId, phase: { kind: 'train', stage: 0, domain: null }, step, tokensSeen: step, wallS: 0, flops: 0, name: 'loss', value: step })

beforeEach(() => {
  store = ExperimentStore.open(path.join(tempDir(), 'busy.sqlite'))
  store.db.pragma(`busy_timeout = ${policy.busyTimeoutMs}`)
  runId = store.createRun(store.ensureExperiment('busy', { k: 1 }).id).id
  holder = new Database(store.path)
  holder.exec('BEGIN IMMEDIATE')
})
afterEach(() => {
  if (holder.inTransaction) holder.exec('ROLLBACK')
  holder.close()
  store.close()
})

describe('a store locked by another process', () => {
  it('fails a plain write with SQLITE_BUSY', () => {
    let caught: unknown
    try {
      store.insertMetrics([point(1)])
    } catch (error) {
      caught = error
    }
    expect(isBusyError(caught)).toBe(true)
  })

  it('is waited out: the write happens once the lock is released, exactly once', async () => {
    setTimeout(() => holder.exec('COMMIT'), 100)
    await whenStoreFree(store.path, policy, () => store.insertMetrics([point(1), point(2)]))
    expect(store.readMetrics(runId).map((p) => p.step)).toEqual([1, 2])
  })

  it('is an error naming the store and how long it stayed locked after the timeout', async () => {
    const started = Date.now()
    const write = whenStoreFree(store.path, policy, () => store.insertMetrics([point(1)]))
    await expect(write).rejects.toThrow(StoreLockedError)
    await expect(write).rejects.toThrow(
      new RegExp(`the experiment store ${store.path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} stayed locked by another process for 0\\.\\d seconds`)
    )
    expect(Date.now() - started).toBeGreaterThanOrEqual(policy.timeoutMs)
    holder.exec('ROLLBACK')
    expect(store.readMetrics(runId)).toEqual([])
  })

  it('keeps a write that cannot wait for later, and fails only after an unbroken busy period longer than the timeout', () => {
    let now = 0
    const tracker = new BusyTracker(store.path, policy, () => now)
    const write = (): void => store.insertMetrics([point(1)])
    expect(tracker.attempt(write)).toBe(false)
    now = 5 // inside the backoff: not even tried
    expect(tracker.attempt(write)).toBe(false)
    now = 300
    expect(tracker.attempt(write)).toBe(false)
    holder.exec('COMMIT')
    now = 350 // past the doubled backoff
    expect(tracker.attempt(write)).toBe(true)
    // a new busy period starts the clock again
    holder.exec('BEGIN IMMEDIATE')
    now = 1000
    expect(tracker.attempt(write)).toBe(false)
    now = 1000 + policy.timeoutMs
    expect(() => tracker.attempt(write)).toThrow(/stayed locked by another process for 0\.4 seconds/)
  })
})
