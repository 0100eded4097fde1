// runs.series through the real API handler on a real store: x conversion, markers at domain starts and growth,
// grouping over seeds with a band, and clear errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SeriesResult } from '../../src/shared/series'
import { createApiHandler, type ApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { rejection } from '../helpers/api'
import { tempEngine } from '../helpers/engine'
import { config, simulateRun, tempStore } from './compare/fixtures'
import { BLOCK_STEPS } from '../../src/main/engine/store/series'
import type { MetricPoint } from '../../src/main/engine/store/store'
import { defaultBuckets } from '../../src/main/engine/series/query'

let engine: Engine
let handle: ApiHandler
const stream = ['press', 'fiction', 'code']
let elle: number
const seeds: number[] = []

beforeAll(async () => {
  engine = await tempEngine()
  handle = createApiHandler(engine, 'browser')
  elle = engine.createRun('elle', config('elle', stream, { grow: true })).id
  simulateRun(engine.store, elle, stream, { secondsPerStep: [0.1, 0.2, 0.3], flopsPerStep: [1e9, 2e9, 3e9], params: [1e5, 2e5, 3e5], frw: 10 })
  for (const floor of [100, 110, 150]) {
    const id = engine.createRun('naive', { ...config('naive', stream), training: { seed: floor } }).id
    simulateRun(engine.store, id, stream, { secondsPerStep: [0.1, 0.1, 0.1], flopsPerStep: [1e9, 1e9, 1e9], params: [1e5, 1e5, 1e5], floor })
    seeds.push(id)
  }
})
afterAll(() => engine?.close())

const series = async (params: Record<string, unknown>): Promise<SeriesResult> => SeriesResult.parse(await handle('runs.series', params))

describe('runs.series', () => {
  it('marks where each domain starts and where the model grew, with the new shape', async () => {
    const r = await series({ runs: [elle], metrics: ['ap_geo'], x: 'step' })
    const chart = r.charts[0]!
    expect(chart.yLabel).toBe('geometric AP (perplexity)')
    expect(r.xLabel).toBe('step')
    expect(r.available).toEqual(['ap', 'ap_geo', 'ap_plus', 'loss', 'params', 'ppl/code', 'ppl/fiction', 'ppl/press', 'val_loss/code', 'val_loss/fiction', 'val_loss/press'])
    // stage 0 trains steps 0–100; each later stage starts with a 10-step warm-up after growth
    expect(chart.markers.map((m) => [m.kind, m.label, m.x])).toEqual([
      ['domain', 'press', 0],
      ['growth', 'grow', 100],
      ['domain', 'fiction', 110],
      ['growth', 'grow', 210],
      ['domain', 'code', 220]
    ])
    expect(chart.markers[1]!.detail).toBe('3 layers · 3 heads · d 96 · 200.0k params')
    expect(chart.markers[3]!.detail).toBe('4 layers · 4 heads · d 128 · 300.0k params')
    const line = chart.lines[0]!
    expect(line).toMatchObject({ key: `run:${elle}`, role: 'run' })
    // 4 validations per stage plus one after each warm-up, all drawn (fewer than the buckets)
    expect(line.points).toBe(14)
    expect(line.x.length).toBe(14)
    expect(line.min).toBeUndefined()
  })

  it('converts x to tokens, wall seconds and FLOPs, markers included', async () => {
    const step = (await series({ runs: [elle], metrics: ['loss'], x: 'step' })).charts[0]!
    const tokens = (await series({ runs: [elle], metrics: ['loss'], x: 'tokens' })).charts[0]!
    expect(tokens.lines[0]!.x).toEqual(step.lines[0]!.x.map((s) => s * 1024))
    expect(tokens.markers.map((m) => m.x)).toEqual(step.markers.map((m) => m.x * 1024))
    const wall = await series({ runs: [elle], metrics: ['loss'], x: 'wall' })
    expect(wall.xLabel).toBe('training wall time (s)')
    // growth before fiction at the end of press: 100 steps × 0.1 s; fiction starts after 10 warm-up steps × 0.2 s
    expect(wall.charts[0]!.markers.slice(1, 3).map((m) => m.x)).toEqual([10, 12])
    const flops = (await series({ runs: [elle], metrics: ['loss'], x: 'flops' })).charts[0]!
    expect(flops.markers[1]!.x).toBe(100 * 1e9)
    expect(flops.extent![1]).toBeCloseTo(100 * 1e9 + 110 * 2e9 + 110 * 3e9, -3)
  })

  it('groups seeds of one experiment: one mean line with a 95% band, members on request', async () => {
    const r = await series({ runs: seeds, metrics: ['ppl/press'], x: 'step', buckets: 12, grouping: { by: 'experiment', stat: 'mean', band: 'ci95', members: true } })
    const lines = r.charts[0]!.lines
    expect(lines.map((l) => l.role)).toEqual(['group', 'member', 'member', 'member'])
    const group = lines[0]!
    expect(group).toMatchObject({ key: 'group:experiment:naive', label: 'naive (3 runs)', points: 36 })
    expect(group.band?.kind).toBe('ci95')
    const last = group.y.length - 1
    expect(group.band!.lo[last]!).toBeLessThan(group.y[last]!)
    expect(group.band!.hi[last]!).toBeGreaterThan(group.y[last]!)
    // the same steps in every run: each marker is drawn once, for the group's line
    expect(r.charts[0]!.markers.filter((m) => m.kind === 'domain').map((m) => [m.label, m.key])).toEqual([
      ['press', group.key],
      ['fiction', group.key],
      ['code', group.key]
    ])
    // ungrouped, the three runs share markers drawn for no single line
    const runs = (await series({ runs: seeds, metrics: ['ppl/press'], x: 'step' })).charts[0]!
    expect(runs.markers.map((m) => [m.label, m.key])).toEqual([
      ['press', undefined],
      ['fiction', undefined],
      ['code', undefined]
    ])
  })

  it('groups by method (from the config) and by sweep group (from the queue)', async () => {
    const byMethod = await series({ runs: [elle, ...seeds], metrics: ['ap_geo'], x: 'step', grouping: { by: 'method', stat: 'median', band: 'std', members: false } })
    expect(byMethod.charts[0]!.lines.map((l) => [l.key, l.label])).toEqual([
      ['group:method:elle', 'elle (1 run)'],
      ['group:method:naive', 'naive (3 runs)']
    ])
    const add = engine.store.db.prepare('INSERT INTO queue_entries (kind, run_id, position, group_name) VALUES (?, ?, ?, ?)')
    seeds.forEach((id, i) => add.run('run', id, 100 + i, 'floors'))
    const bySweep = await series({ runs: [elle, ...seeds], metrics: ['ap_geo'], x: 'step', grouping: { by: 'sweep', stat: 'mean', band: 'sem', members: false } })
    expect(bySweep.charts[0]!.lines.map((l) => l.label)).toEqual([`run ${elle} (no sweep) (1 run)`, 'floors (3 runs)'])
    expect(bySweep.charts[0]!.lines[1]!.band?.kind).toBe('sem')
  })

  it('smooths over the raw series and re-buckets a range', async () => {
    const r = await series({ runs: [elle], metrics: ['ap_geo'], x: 'step', smoothing: { kind: 'ema', param: 0.8 }, range: [50, 150] })
    const line = r.charts[0]!.lines[0]!
    expect(line.raw).toHaveLength(line.y.length)
    expect(line.x.every((x) => x >= 50 && x <= 150)).toBe(true)
    expect(r.range).toEqual([50, 150])
    expect(r.charts[0]!.extent).toEqual([25, 320])
  })

  it('refuses an unknown run and a bad range with a clear error', async () => {
    expect(await rejection(handle('runs.series', { runs: [elle, 424242], metrics: ['loss'], x: 'step' }))).toMatchObject({ code: 'not_found', message: 'no run with id 424242' })
    expect(await rejection(handle('runs.series', { runs: [elle], metrics: ['loss'], x: 'step', range: [5, 1] }))).toMatchObject({
      code: 'bad_request',
      message: 'runs.series: range: the start (5) must be below the end (1)'
    })
    expect((await rejection(handle('runs.series', { runs: [elle], metrics: ['loss'], x: 'hours' }))).message).toMatch(/^runs\.series: x: /)
    expect((await rejection(handle('runs.series', { runs: [elle, elle], metrics: ['loss'], x: 'step' }))).message).toContain('listed twice')
  })
})

describe('default buckets per line', () => {
  it('800 for a few lines, fewer for many (about 25,000 drawn points in all), never under 200', () => {
    expect([1, 31, 50, 100, 1000].map(defaultBuckets)).toEqual([800, 800, 500, 250, 200])
    for (const lines of [40, 60, 100, 125]) expect(lines * defaultBuckets(lines)).toBeLessThanOrEqual(25_000)
  })
})

describe('metric blocks', () => {
  it('read back exactly what the metrics table holds: batches across blocks, rewritten steps, runs from before the blocks', () => {
    const store = tempStore()
    try {
      const run = store.createRun(store.ensureExperiment('blocks', { name: 'blocks' }).id).id
      const point = (step: number, value: number): MetricPoint => ({
        runId: run,
        phase: { kind: 'train', stage: 0, domain: 'd' },
        step,
        tokensSeen: step * 8,
        wallS: step / 4,
        flops: step * 1e6,
        name: 'loss',
        value
      })
      const total = 3 * BLOCK_STEPS + 100
      // batches of 1,000 steps as the trainer writes them, ending inside and exactly at block edges
      for (let from = 0; from < total; from += 1000) store.insertMetrics(Array.from({ length: Math.min(1000, total - from) }, (_, i) => point(from + i, Math.sin(from + i))))
      const sealed = () => store.db.prepare("SELECT block FROM metric_blocks WHERE run_id = ? AND name = 'loss' ORDER BY block").pluck().all(run) as number[]
      expect(sealed()).toEqual([0, 1, 2])
      const same = (x: 'step' | 'tokens' | 'wall' | 'flops') => {
        const fast = store.series.columns(run, 'loss', x)
        const slow = store.series.columnsFromRows(run, 'loss', x)
        expect(fast.x.length).toBe(slow.x.length)
        expect([...fast.x]).toEqual([...slow.x])
        expect([...fast.y]).toEqual([...slow.y])
      }
      same('step')
      same('wall')
      // a resumed run writes earlier steps again: their block is rebuilt with the new values (the kept series too)
      store.insertMetrics([point(5, 42), point(BLOCK_STEPS + 1, 43)])
      expect(store.series.columns(run, 'loss', 'step').y[5]).toBe(42)
      // a point appended to the open block (stored by the read above) shows in the next read
      store.insertMetrics([point(total, 7)])
      expect(store.series.columns(run, 'loss', 'step').y[total]).toBe(7)
      expect(store.series.columns(run, 'loss', 'step').y[5]).toBe(42)
      expect(store.series.columns(run, 'loss', 'step').y[BLOCK_STEPS + 1]).toBe(43)
      same('tokens')
      // a store from before the blocks: read from the rows, and the finished blocks are stored on the way
      store.db.prepare('DELETE FROM metric_blocks').run()
      same('flops')
      // the open last block is stored too: the next write to it deletes it again
      expect(sealed()).toEqual([0, 1, 2, 3])
    } finally {
      store.close()
    }
  })
})
