// The runs table (schema 9) on a real SQLite store through the API handler: rows with flattened configs and final
// metrics, tags and notes, saved views, the migration from 8 keeping every run, and the cost for 1000 runs.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiHandler, type ApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { ExperimentStore, type MetricPoint } from '../../src/main/engine/store/store'
import { LATEST_SCHEMA_VERSION } from '../../src/main/engine/store/migrations'
import { contract, RunTableRow, SavedView, type ApiEvent, type Result } from '../../src/shared/contract'
import { DEFAULT_VIEW_STATE } from '../../src/shared/view-state'
import { rejection } from '../helpers/api'
import { tempEngine } from '../helpers/engine'
import { tempDir } from '../helpers/tmp'

let engine: Engine
let handle: ApiHandler
beforeAll(async () => {
  engine = await tempEngine()
  handle = createApiHandler(engine, 'browser')
})
afterAll(() => engine.close())

const config = (method: string, seed: number, lr = 0.001) => ({
  name: `${method}-${seed}`,
  model: { kind: 'gpt', layers: 1 },
  training: { lr, seed },
  method: { name: method },
  stages: [{ domain: 'press', steps: 4 }]
})
const point = (runId: number, name: string, step: number, value: number): MetricPoint => ({
  runId,
  phase: { kind: 'train', stage: 0, domain: 'press' },
  step,
  tokensSeen: step * 100,
  wallS: step / 10,
  flops: step * 1e9,
  name,
  value
})
const table = async (ids?: number[]): Promise<Result<'runs.table'>> => contract['runs.table'].result.parse(await handle('runs.table', ids ? { ids } : {}))

describe('runs.table', () => {
  it('gives each run its config fields and final metrics (the last value of each series)', async () => {
    const a = engine.createRun('elle-0', config('elle', 0))
    const b = engine.createRun('ewc-2', config('ewc', 2, 0.002))
    engine.store.insertMetrics([
      point(a.id, 'loss', 1, 5),
      point(a.id, 'loss', 2, 4),
      point(a.id, 'ap', 1, 90),
      point(a.id, 'ap', 2, 70),
      point(a.id, 'ap_geo', 2, 65),
      point(a.id, 'params', 0, 1234),
      point(b.id, 'loss', 3, 3.5)
    ])
    engine.store.addEvaluations([
      { runId: a.id, task: 'topic', domain: 'press', metric: 'accuracy', value: 0.5, seed: 0 },
      { runId: a.id, task: 'topic', domain: 'press', metric: 'accuracy', value: 0.7, seed: 1 }
    ])
    const { rows, configFields, finalFields } = await table()
    expect(rows.map((r) => r.id)).toEqual([b.id, a.id]) // newest first
    const ra = rows.find((r) => r.id === a.id)!
    expect(ra).toMatchObject({ experiment: 'elle-0', method: 'elle', seed: 0, status: 'queued', tags: [], note: '' })
    expect(ra.config).toMatchObject({ 'training.lr': 0.001, 'method.name': 'elle', 'stages.0.domain': 'press', 'model.kind': 'gpt' })
    expect(ra.final).toMatchObject({ ap: 70, ap_geo: 65, loss: 4, params: 1234, tokens: 200, flops: 2e9 })
    expect(ra.final.wall_s).toBeCloseTo(0.2, 10)
    expect(ra.final['downstream.topic']).toBeCloseTo(0.6, 10)
    expect(ra.final.ap_plus).toBeUndefined() // never recorded
    const rb = rows.find((r) => r.id === b.id)!
    expect(rb).toMatchObject({ method: 'ewc', seed: 2, final: { loss: 3.5, tokens: 300 } })
    expect(configFields).toContain('training.lr')
    expect(finalFields).toEqual(expect.arrayContaining(['ap', 'ap_geo', 'loss', 'downstream.topic']))
    expect((await table([a.id])).rows.map((r) => r.id)).toEqual([a.id])
  })

  it('keeps one query per table: 1000 runs with metrics in well under a second', async () => {
    const store = engine.store
    const exp = store.ensureExperiment('many', config('naive', 7))
    const ids = store.db.transaction(() => Array.from({ length: 1000 }, () => store.createRun(exp.id).id))()
    const points: MetricPoint[] = []
    for (const id of ids) for (let step = 1; step <= 10; step++) for (const name of ['loss', 'ap', 'ap_geo', 'ap_plus', 'lr']) points.push(point(id, name, step, step))
    store.insertMetrics(points)
    await table() // warm the statement cache
    const started = performance.now()
    const { rows } = await table()
    const ms = performance.now() - started
    console.log(`runs.table over ${rows.length} runs (${points.length} metric points): ${ms.toFixed(0)} ms`)
    expect(rows.length).toBeGreaterThanOrEqual(1000)
    expect(rows.find((r) => r.id === ids[0])!.final).toMatchObject({ loss: 10, ap_plus: 10, tokens: 1000 })
    expect(ms).toBeLessThan(1500)
  })
})

describe('runs.annotate', () => {
  it('replaces tags and note, each on its own, and refuses bad input naming it', async () => {
    const run = engine.createRun('annotated', config('elle', 5))
    const tagged = RunTableRow.parse(await handle('runs.annotate', { id: run.id, tags: ['paper', 'best', 'paper'] }))
    expect(tagged).toMatchObject({ tags: ['paper', 'best'], note: '' })
    const noted = RunTableRow.parse(await handle('runs.annotate', { id: run.id, note: 'lr too high?\nsecond line' }))
    expect(noted).toMatchObject({ tags: ['paper', 'best'], note: 'lr too high?\nsecond line' })
    expect(RunTableRow.parse(await handle('runs.annotate', { id: run.id, tags: [] })).tags).toEqual([])

    expect((await rejection(handle('runs.annotate', { id: run.id, tags: ['has space'] }))).message).toContain('tags.0: a tag is 1-40 letters')
    expect((await rejection(handle('runs.annotate', { id: run.id, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }))).code).toBe('bad_request')
    expect((await rejection(handle('runs.annotate', { id: run.id, note: 'x'.repeat(10_001) }))).message).toContain('note')
    expect(await rejection(handle('runs.annotate', { id: 999_999, tags: ['x'] }))).toMatchObject({ code: 'not_found', message: 'no run with id 999999' })
    // nothing stored was lost by the refusals
    expect((await table([run.id])).rows[0]).toMatchObject({ tags: [], note: 'lr too high?\nsecond line' })
  })
})

describe('saved views', () => {
  it('saves, lists, gets, replaces and deletes; names are unique; unknown ids are not found', async () => {
    const state = structuredClone(DEFAULT_VIEW_STATE)
    state.compare.runs = [3, 1]
    state.compare.smoothing = { kind: 'ema', param: 0.6 }
    state.table.filter = 'method = elle and seed < 3'
    const saved = SavedView.parse(await handle('views.save', { name: 'elle seeds', state }))
    expect(saved.state).toEqual(state)
    expect(await handle('views.get', { id: saved.id })).toEqual(saved)
    expect(await handle('views.list', {})).toEqual({ views: [{ id: saved.id, name: 'elle seeds', createdAt: saved.createdAt, updatedAt: saved.updatedAt }] })

    const other = SavedView.parse(await handle('views.save', { name: 'other', state: DEFAULT_VIEW_STATE }))
    expect(await rejection(handle('views.save', { id: other.id, name: 'elle seeds', state }))).toMatchObject({ code: 'conflict' })
    expect(await rejection(handle('views.save', { name: 'elle seeds', state }))).toMatchObject({ code: 'conflict' })
    const renamed = SavedView.parse(await handle('views.save', { id: other.id, name: 'renamed', state }))
    expect(renamed).toMatchObject({ id: other.id, name: 'renamed', state })

    const bad = { ...state, compare: { ...state.compare, smoothing: { kind: 'ema', param: 2 } } }
    expect((await rejection(handle('views.save', { name: 'bad', state: bad }))).message).toContain('an EMA weight is below 1')
    expect(await rejection(handle('views.get', { id: 424242 }))).toMatchObject({ code: 'not_found', message: 'no saved view with id 424242' })
    expect(await rejection(handle('views.delete', { id: 424242 }))).toMatchObject({ code: 'not_found' })

    expect(await handle('views.delete', { id: other.id })).toMatchObject({ id: other.id, name: 'renamed' })
    expect(((await handle('views.list', {})) as { views: unknown[] }).views).toHaveLength(1)
  })
})

describe('saved views naming deleted runs, and views.changed', () => {
  it('views.get names the runs of the view that no longer exist; save and delete publish views.changed', async () => {
    const events: ApiEvent[] = []
    const off = engine.events.subscribe((e) => events.push(e))
    try {
      const kept = engine.createRun('kept', config('naive', 7))
      const gone = engine.createRun('gone', config('naive', 8))
      const state = structuredClone(DEFAULT_VIEW_STATE)
      state.compare.runs = [gone.id, kept.id, 999_999]
      events.length = 0
      const saved = SavedView.parse(await handle('views.save', { name: 'with gaps', state }))
      expect(saved.missingRuns).toEqual([999_999])
      expect(events.map((e) => e.type)).toEqual(['views.changed'])
      engine.store.db.prepare('DELETE FROM runs WHERE id = ?').run(gone.id)
      const got = SavedView.parse(await handle('views.get', { id: saved.id }))
      // the state as saved, and which of its runs are gone, in the view's order
      expect(got.state.compare.runs).toEqual([gone.id, kept.id, 999_999])
      expect(got.missingRuns).toEqual([gone.id, 999_999])
      await handle('views.delete', { id: saved.id })
      expect(events.map((e) => e.type)).toEqual(['views.changed', 'views.changed'])
      // a refused save publishes nothing
      await rejection(handle('views.save', { name: '', state }))
      expect(events).toHaveLength(2)
    } finally {
      off()
    }
  })
})

describe('schema 9', () => {
  it('migrates a store from 8, keeping its runs (no tags, empty note) and adding saved_views', () => {
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(9)
    const file = path.join(tempDir(), 'v8.sqlite')
    const old = ExperimentStore.open(file, { targetVersion: 8 })
    const exp = old.ensureExperiment('old', config('elle', 1))
    old.db.prepare("INSERT INTO runs (experiment_id, status, error) VALUES (?, 'failed', 'kept')").run(exp.id)
    old.close()
    const store = ExperimentStore.open(file, { targetVersion: 9 })
    try {
      expect(store.schemaVersion).toBe(9)
      expect(store.db.prepare('SELECT status, error, tags_json, note FROM runs').all()).toEqual([{ status: 'failed', error: 'kept', tags_json: '[]', note: '' }])
      expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'saved_views'").pluck().get()).toBe('saved_views')
    } finally {
      store.close()
    }
  })
})
