// Runs through the engine: queued, trained in a worker thread on the default stream, checkpointed,
// cancelled, resumed and recovered after their process died. Real store, real worker, real wasm backend.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { ApiEvent } from '../../../src/shared/contract'
import { Engine, ResumableRunError } from '../../../src/main/engine/engine'
import { ConfigError, type RunConfigInput } from '../../../src/main/engine/training/config'
import { tempDir } from '../../helpers/tmp'

let engine: Engine
const events: ApiEvent[] = []

beforeAll(async () => {
  engine = await Engine.open({ dbPath: path.join(tempDir(), 'runs.sqlite'), dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
  engine.events.subscribe((e) => events.push(e))
})
afterAll(async () => engine.close())

const config = (name: string, steps: number, extra: Partial<RunConfigInput['training']> = {}): RunConfigInput => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 16, checkpointEvery: 10, ...extra },
  stages: [{ domain: 'press', steps }]
})

describe('runs in a worker thread', () => {
  it('trains a queued run to the end and records metrics, stages and a checkpoint', async () => {
    const run = engine.startRun(config('host-finish', 30))
    expect(run.status).toBe('queued')
    const done = await engine.host.waitFor(run.id)
    expect(done.status).toBe('finished')
    const detail = engine.store.getRunDetail(run.id)
    expect(detail.stages).toEqual([expect.objectContaining({ domain: 'press', status: 'finished' })])
    expect(engine.store.readMetrics(run.id, { name: 'loss' })).toHaveLength(30)
    const ppl = engine.store.readMetrics(run.id, { name: 'ppl/press' })
    expect(ppl.map((p) => p.step)).toEqual([10, 20, 30])
    expect(ppl.at(-1)!.value).toBeLessThan(ppl[0]!.value)
    expect(engine.store.readMetrics(run.id, { name: 'ap' })).toHaveLength(3)
    // periodic checkpoints are replaced; the end-of-stage one stays
    expect(engine.store.listCheckpoints(run.id).map((c) => c.step)).toEqual([30])
    const statuses = events.filter((e) => e.type === 'run.updated' && e.run.id === run.id).map((e) => (e.type === 'run.updated' ? e.run.status : ''))
    expect(statuses).toEqual(['queued', 'running', 'finished'])
    expect(events.some((e) => e.type === 'run.progress' && e.progress.runId === run.id && e.progress.step === 30)).toBe(true)
  })

  it('cancels with a checkpoint, offers the unfinished run for resumption, and resumes it without repeats', async () => {
    const input = config('host-resume', 80)
    const run = engine.startRun(input)
    await new Promise<void>((resolve) => {
      const stop = engine.events.subscribe((e) => {
        if (e.type === 'run.progress' && e.progress.runId === run.id && e.progress.step >= 15) {
          stop()
          engine.cancelRun(run.id)
          resolve()
        }
      })
    })
    const cancelled = await engine.host.waitFor(run.id)
    expect(cancelled.status).toBe('cancelled')
    const checkpoint = engine.store.listCheckpoints(run.id).at(-1)!
    expect(checkpoint.step).toBeGreaterThanOrEqual(15)
    expect(checkpoint.step).toBeLessThan(80)

    expect(() => engine.startRun(input)).toThrow(ResumableRunError)
    expect(() => engine.startRun(input)).toThrow(new RegExp(`run ${run.id} .* stopped at step ${checkpoint.step}.*elle run --resume ${run.id}`))

    engine.resumeRun(run.id)
    const finished = await engine.host.waitFor(run.id)
    expect(finished.status).toBe('finished')
    const losses = engine.store.readMetrics(run.id, { name: 'loss' })
    expect(losses.map((p) => p.step)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1))
    expect(engine.store.readMetrics(run.id, { name: 'ppl/press' }).map((p) => p.step)).toEqual([10, 20, 30, 40, 50, 60, 70, 80])
    // the checkpoint it resumed from was replaced like any periodic one, in the store and on disk
    expect(engine.store.listCheckpoints(run.id).map((c) => c.step)).toEqual([80])
    expect(fs.existsSync(checkpoint.path)).toBe(false)
    // the model's size is recorded once, at the stage's first step, not again at the resume
    expect(engine.store.readMetrics(run.id, { name: 'params' }).map((p) => p.step)).toEqual([0])
    expect(engine.store.integrityCheck()).toEqual([])
  })

  it('refuses a config naming an unknown domain before storing anything', () => {
    const before = engine.store.listExperiments().length
    const bad = {
      ...config('bad', 5),
      stages: [
        { domain: 'press', steps: 5 },
        { domain: 'klingon-poetry', steps: 5 }
      ]
    }
    expect(() => engine.startRun(bad)).toThrow(ConfigError)
    expect(() => engine.startRun(bad)).toThrow(/stages\.1\.domain: unknown domain "klingon-poetry"/)
    expect(() => engine.startRun({ ...config('bad', 5), model: { kind: 'gpt', layers: 0, heads: 2, headSize: 16 } })).toThrow(/model\.layers/)
    expect(engine.store.listExperiments()).toHaveLength(before)
  })

  it('keeps the checkpoints of two stores apart when they share a data directory', async () => {
    // Two fresh stores both number their first run 1.
    const open = () => Engine.open({ dbPath: path.join(tempDir(), 'store.sqlite'), dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
    const [one, two] = [await open(), await open()]
    try {
      const a = one.startRun(config('shared-dir', 5))
      const b = two.startRun(config('shared-dir', 5))
      expect([a.id, b.id]).toEqual([1, 1])
      expect((await one.host.waitFor(a.id)).status).toBe('finished')
      expect((await two.host.waitFor(b.id)).status).toBe('finished')
      const pathA = one.store.listCheckpoints(a.id).at(-1)!.path
      const pathB = two.store.listCheckpoints(b.id).at(-1)!.path
      expect(pathA).not.toBe(pathB)
      expect(fs.existsSync(pathA) && fs.existsSync(pathB)).toBe(true)
    } finally {
      await one.close()
      await two.close()
    }
  })

  it('marks runs whose process died as failed and says how to resume', async () => {
    const run = engine.createRun('orphan', { orphan: true })
    engine.setRunStatus(run.id, 'running')
    engine.store.db.prepare("UPDATE runs SET heartbeat_at = '2001-01-01T00:00:00.000Z' WHERE id = ?").run(run.id)
    const second = await Engine.open({ dbPath: engine.store.path, dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
    const recovered = second.store.getRun(run.id)
    expect(recovered.status).toBe('failed')
    expect(recovered.error).toMatch(/interrupted: the process training it stopped unexpectedly/)
    await second.close()
  })
})
