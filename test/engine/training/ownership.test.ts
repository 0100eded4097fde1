// Run ownership: a run belongs to one trainer host at a time, by a lease its heartbeat renews. A host
// that stalled past its lease and finds the run taken over stops without writing anything more, and the
// taking host trains the run to the end. Real store, real worker threads, real wasm backend.
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Engine } from '../../../src/main/engine/engine'
import { ExperimentStore, LeaseLostError, SlotsBusyError } from '../../../src/main/engine/store/store'
import { runDirOf } from '../../../src/main/engine/training/run'
import type { RunConfigInput } from '../../../src/main/engine/training/config'
import { tempDir } from '../../helpers/tmp'

const config = (name: string, steps: number): RunConfigInput => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 8, validateEvery: 5, validationSequences: 16, checkpointEvery: 10 },
  stages: [{ domain: 'press', steps }]
})

const untilStep = (engine: Engine, runId: number, step: number): Promise<void> =>
  new Promise((resolve) => {
    const stop = engine.events.subscribe((e) => {
      if (e.type === 'run.progress' && e.progress.runId === runId && e.progress.step >= step) {
        stop()
        resolve()
      }
    })
  })

const stepDirs = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [])

describe('the lease on a run', () => {
  it('is taken in one transaction, renewed only by its owner, and refuses a former owner every write', () => {
    const store = ExperimentStore.open(path.join(tempDir(), 'lease.sqlite'))
    try {
      const run = store.createRun(store.ensureExperiment('lease', { k: 1 }).id)
      store.claimRun(run.id, 'A', null)
      store.setRunStatus(run.id, 'running', { owner: 'A' })
      expect(store.heartbeat(run.id, 'A', null)).toBe(true)
      // a live lease cannot be taken, and only the owner renews it
      expect(() => store.claimRun(run.id, 'B', null)).toThrow(/being trained by another process \(A\)/)
      expect(store.heartbeat(run.id, 'B', null)).toBe(false)
      expect(store.releaseOrphan(run.id)).toBe(false)
      // A stalls past its lease: another process recovers the run and resumes it
      store.db.prepare("UPDATE runs SET heartbeat_at = '2001-01-01T00:00:00.000Z' WHERE id = ?").run(run.id)
      expect(store.releaseOrphan(run.id)).toBe(true)
      store.setRunStatus(run.id, 'failed', { error: 'interrupted' })
      store.setRunStatus(run.id, 'queued')
      store.claimRun(run.id, 'B', null)
      store.setRunStatus(run.id, 'running', { owner: 'B' })
      // A wakes up: its heartbeat, status changes and writes are refused, and nothing it tried is stored
      expect(store.heartbeat(run.id, 'A', null)).toBe(false)
      expect(() => store.setRunStatus(run.id, 'finished', { owner: 'A' })).toThrow(LeaseLostError)
      expect(() =>
        store.insertMetrics([{ runId: run.id, phase: { kind: 'train', stage: 0, domain: null }, step: 1, tokensSeen: 1, wallS: 0, flops: 0, name: 'loss', value: 1 }], 'A')
      ).toThrow(LeaseLostError)
      expect(() => store.addCheckpoint({ runId: run.id, step: 1, path: '/x', bytes: 1, sha256: 'ff' }, 'A')).toThrow(LeaseLostError)
      expect(() => store.addStage(run.id, { index: 0, kind: 'train' }, 'A')).toThrow(LeaseLostError)
      expect(store.readMetrics(run.id)).toEqual([])
      expect(store.listCheckpoints(run.id)).toEqual([])
      expect(store.getRun(run.id).status).toBe('running')
      expect(store.runOwner(run.id)).toBe('B')
      // B ends it; an ended run has no owner
      expect(store.setRunStatus(run.id, 'finished', { owner: 'B' }).status).toBe('finished')
      expect(store.runOwner(run.id)).toBeNull()
    } finally {
      store.close()
    }
  })

  it("holds the queue's slots across processes: a second runner cannot claim a run while the slots are taken", () => {
    const store = ExperimentStore.open(path.join(tempDir(), 'slots.sqlite'))
    try {
      const experiment = store.ensureExperiment('slots', { k: 1 }).id
      const [a, b] = [store.createRun(experiment), store.createRun(experiment)]
      // both runners saw one free slot; A claims first (its run is claimed, not yet running)
      store.claimRun(a.id, 'A', null, 60, 1)
      expect(() => store.claimRun(b.id, 'B', null, 60, 1)).toThrow(SlotsBusyError)
      expect(() => store.claimRun(b.id, 'B', null, 60, 1)).toThrow(/^all 1 slot are taken; run \d+ stays queued$/)
      expect(store.getRun(b.id)).toMatchObject({ status: 'queued' })
      expect(store.runOwner(b.id)).toBeNull() // refused: nothing changed
      store.setRunStatus(a.id, 'running', { owner: 'A' })
      expect(() => store.claimRun(b.id, 'B', null, 60, 1)).toThrow(SlotsBusyError)
      store.claimRun(b.id, 'B', null, 60, 2) // two slots: room for both
      expect(store.runOwner(b.id)).toBe('B')
      // a run whose lease expired holds no slot
      const c = store.createRun(experiment)
      store.db.prepare("UPDATE runs SET heartbeat_at = '2001-01-01T00:00:00.000Z'").run()
      store.claimRun(c.id, 'C', null, 60, 1)
      expect(store.runOwner(c.id)).toBe('C')
    } finally {
      store.close()
    }
  })
})

describe('a stalled owner whose run was taken over', () => {
  let dir: string
  let a: Engine
  const logA: string[] = []
  beforeAll(async () => {
    dir = tempDir()
    // A renews its lease often, so it notices a takeover within a fraction of a second
    a = await Engine.open({
      dbPath: path.join(dir, 'split.sqlite'),
      dataDir: inject('dataDir'),
      backend: { flag: 'wasm' },
      training: { heartbeatMs: 100 },
      log: (_id, m) => logA.push(m)
    })
  })
  afterAll(async () => a.close())

  it('stops, and the new owner trains the run to the end with one clean history', async () => {
    const run = a.startRun(config('split-brain', 60))
    await untilStep(a, run.id, 12)

    // The takeover, as a second workbench does it: A's lease has expired (A was stopped for a minute),
    // the run is recovered and resumed. All of it synchronous, so A's heartbeat cannot run in between.
    const b = await Engine.open({ dbPath: a.store.path, dataDir: inject('dataDir'), backend: { flag: 'wasm' }, recoverOrphans: false })
    try {
      const other = new Database(a.store.path)
      other.prepare("UPDATE runs SET heartbeat_at = '2001-01-01T00:00:00.000Z' WHERE id = ?").run(run.id)
      other.close()
      expect(b.host.recoverOrphans().map((r) => r.id)).toEqual([run.id])
      const stillA = a.host.waitFor(run.id)
      b.resumeRun(run.id)
      expect(b.store.runOwner(run.id)).toBe(b.host.owner)
      const checkpointsDir = path.join(runDirOf(inject('dataDir'), a.store.path, run.id), 'checkpoints')

      // A hears of it at its next heartbeat or write, and stops: its outcome says why, the store is B's
      const stopped = await stillA
      expect(stopped.error).toMatch(/taken over by .*another process/)
      expect(a.host.activeRuns).toEqual([])
      expect(logA.some((m) => /taken over/.test(m))).toBe(true)

      const done = await b.host.waitFor(run.id)
      expect(done.status).toBe('finished')
      // one clean history: every step's loss once, the end-of-stage checkpoint, no owner left
      expect(b.store.readMetrics(run.id, { name: 'loss' }).map((p) => p.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
      expect(b.store.listCheckpoints(run.id).map((c) => c.step)).toEqual([60])
      expect(stepDirs(checkpointsDir)).toEqual(['step-00000060'])
      expect(b.store.runOwner(run.id)).toBeNull()
      expect(b.store.integrityCheck()).toEqual([])
    } finally {
      await b.close()
    }
  })

  it('writes nothing more once another process holds the run, even before that process writes', async () => {
    const run = a.startRun(config('intruder', 200))
    await untilStep(a, run.id, 12)
    // Another owner takes the run (its host would now train it); A must fall silent at once.
    const other = new Database(a.store.path)
    try {
      const stillA = a.host.waitFor(run.id)
      other.prepare("UPDATE runs SET owner = 'intruder', heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?").run(run.id)
      const taken = {
        metrics: other.prepare('SELECT COUNT(*) FROM metrics WHERE run_id = ?').pluck().get(run.id),
        checkpoints: other.prepare('SELECT COUNT(*) FROM checkpoints WHERE run_id = ?').pluck().get(run.id),
        stages: other.prepare('SELECT status, ended_at FROM stages WHERE run_id = ?').all(run.id),
        dirs: stepDirs(path.join(runDirOf(inject('dataDir'), a.store.path, run.id), 'checkpoints'))
      }
      const stopped = await stillA
      expect(stopped.error).toMatch(/taken over/)
      expect(other.prepare('SELECT COUNT(*) FROM metrics WHERE run_id = ?').pluck().get(run.id)).toBe(taken.metrics)
      expect(other.prepare('SELECT COUNT(*) FROM checkpoints WHERE run_id = ?').pluck().get(run.id)).toBe(taken.checkpoints)
      expect(other.prepare('SELECT status, ended_at FROM stages WHERE run_id = ?').all(run.id)).toEqual(taken.stages)
      expect(stepDirs(path.join(runDirOf(inject('dataDir'), a.store.path, run.id), 'checkpoints'))).toEqual(taken.dirs)
      expect(other.prepare('SELECT status, owner, error FROM runs WHERE id = ?').get(run.id)).toEqual({ status: 'running', owner: 'intruder', error: null })
    } finally {
      other.close()
    }
  })
})
