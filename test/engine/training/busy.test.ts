// Training while another process holds the store's write lock for longer than SQLite's busy_timeout (an
// sqlite3 shell inside a transaction, a backup tool): the run waits, keeps its metrics in memory, and
// finishes with every point exactly once. Real store, real worker thread, a real second process.
import { spawn } from 'node:child_process'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Engine } from '../../../src/main/engine/engine'
import { tempDir } from '../../helpers/tmp'

const LOCK_MS = 6_000 // longer than the old, fixed busy_timeout of 5 s

/** A second process that takes the write lock, says so, holds it for `ms`, then commits. */
function holdLock(dbPath: string, ms: number): Promise<Promise<number>> {
  const script = `
    const Database = require('better-sqlite3')
    const db = new Database(process.argv[1])
    db.exec('BEGIN IMMEDIATE')
    process.stdout.write('locked\\n')
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.argv[2]))
    db.exec('COMMIT')
    db.close()`
  const child = spawn(process.execPath, ['-e', script, dbPath, String(ms)], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)))
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(exited))
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)))
  })
}

let engine: Engine
const log: string[] = []
beforeAll(async () => {
  engine = await Engine.open({
    dbPath: path.join(tempDir(), 'busy.sqlite'),
    dataDir: inject('dataDir'),
    backend: { flag: 'wasm' },
    // SQLite waits 100 ms per attempt; our retries back off up to 0.4 s and give up after a minute
    training: { busy: { busyTimeoutMs: 100, initialDelayMs: 50, maxDelayMs: 400, timeoutMs: 60_000 }, heartbeatMs: 200 },
    log: (_id, message) => log.push(message)
  })
})
afterAll(async () => engine.close())

describe('a store locked by another process during training', () => {
  it('delays the run, which then finishes with every metric point exactly once', async () => {
    const run = engine.startRun({
      name: 'locked-store',
      model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
      training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 16, checkpointEvery: 10 },
      stages: [{ domain: 'press', steps: 60 }]
    })
    await new Promise<void>((resolve) => {
      const stop = engine.events.subscribe((e) => {
        if (e.type === 'run.progress' && e.progress.runId === run.id && e.progress.step >= 5) {
          stop()
          resolve()
        }
      })
    })
    const released = await holdLock(engine.store.path, LOCK_MS)
    const done = await engine.host.waitFor(run.id)
    expect(await released).toBe(0)
    expect(done.error).toBeNull()
    expect(done.status).toBe('finished')
    expect(log.some((m) => m.includes('is locked by another process'))).toBe(true)
    expect(engine.store.readMetrics(run.id, { name: 'loss' }).map((p) => p.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
    expect(engine.store.readMetrics(run.id, { name: 'ppl/press' }).map((p) => p.step)).toEqual([10, 20, 30, 40, 50, 60])
    expect(engine.store.listCheckpoints(run.id).map((c) => c.step)).toEqual([60])
    expect(engine.store.getRunDetail(run.id).stages).toEqual([expect.objectContaining({ status: 'finished' })])
    expect(engine.store.integrityCheck()).toEqual([])
  })

  it('starts a queued run once the store is free again instead of giving up on it', async () => {
    const run = engine.createRun('locked-at-start', {
      name: 'locked-at-start',
      model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
      training: { seqLen: 32, batchSize: 8, validateEvery: 5, validationSequences: 16, checkpointEvery: 5 },
      stages: [{ domain: 'press', steps: 5 }]
    })
    const holder = new Database(engine.store.path)
    holder.exec('BEGIN IMMEDIATE')
    setTimeout(() => holder.exec('COMMIT'), 600)
    try {
      engine.host.enqueue(run.id)
      expect(engine.store.getRun(run.id).status).toBe('queued')
      const done = await engine.host.waitFor(run.id)
      expect(done.status).toBe('finished')
      expect(log.some((m) => m.includes(`run ${run.id} starts when it is free`))).toBe(true)
      expect(engine.store.readMetrics(run.id, { name: 'loss' })).toHaveLength(5)
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK')
      holder.close()
    }
  })
})
