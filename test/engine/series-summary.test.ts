// The slice summaries (schema 12): the overview of a series (its whole range against step) is bucketed from
// per-64-step summaries instead of every point. Its answer must be the answer bucketed from the raw points (same
// slice-aligned buckets), a summary must never be used once its block changed, and stores from before schema 12
// (blocks without summaries) must give the same answer and get their summaries on the way.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { querySeries } from '../../src/main/engine/series/query'
import { ExperimentStore, type MetricPoint } from '../../src/main/engine/store/store'
import { BLOCK_STEPS } from '../../src/main/engine/store/series'
import { bucketMinMax, bucketSlices, sliceBuckets, summarizeSlices, SLICE_STEPS } from '../../src/shared/series/index'
import type { SeriesChart, SeriesQuery } from '../../src/shared/series'
import { tempDir } from '../helpers/tmp'

const STEPS = 3 * BLOCK_STEPS + 1234

/** A run's loss: noise, a spike, Infinity (and NaN when asked) here and there, steps from `from` (a resumed run starts late). */
function points(runId: number, from: number, to: number, seed: number, nan = false): MetricPoint[] {
  let r = seed
  const rand = () => (r = (r * 16807) % 2147483647) / 2147483647
  const out: MetricPoint[] = []
  for (let step = from; step < to; step++) {
    let value = 3 + Math.exp(-step / 3000) + rand() * 0.3
    if (step === from + 777) value = 60
    // the store keeps no NaN (its value column is NOT NULL); Infinity it keeps
    if (nan && step % 997 === 0) value = NaN
    if (step % 1301 === 0) value = Infinity
    out.push({ runId, phase: { kind: 'train', stage: 0, domain: 'd' }, step, tokensSeen: step * 64, wallS: step / 10, flops: step * 1e9, name: 'loss', value })
  }
  return out
}

function insert(store: ExperimentStore, list: MetricPoint[]): void {
  for (let i = 0; i < list.length; i += 1000) store.insertMetrics(list.slice(i, i + 1000))
}

function fill(store: ExperimentStore): number[] {
  const exp = store.ensureExperiment('summaries', { name: 'summaries' }).id
  const ids = [0, 1, 2].map(() => store.createRun(exp).id)
  insert(store, points(ids[0]!, 0, STEPS, 7))
  insert(store, points(ids[1]!, 5000, STEPS + 3000, 11)) // starts inside a block, ends later
  insert(store, points(ids[2]!, 0, 900, 13)) // short: fewer points than buckets' worth
  return ids
}

/** Two answers equal: steps, counts, min and max exactly; means within float rounding (the summaries add per slice). */
function expectSame(a: SeriesChart, b: SeriesChart): void {
  expect(a.extent).toEqual(b.extent)
  expect(a.lines.map((l) => [l.key, l.points, l.x.length])).toEqual(b.lines.map((l) => [l.key, l.points, l.x.length]))
  a.lines.forEach((l, i) => {
    const o = b.lines[i]!
    expect(l.x).toEqual(o.x)
    expect(l.min).toEqual(o.min)
    expect(l.max).toEqual(o.max)
    l.y.forEach((v, k) => {
      const w = o.y[k]
      if (v === null || w === null || w === undefined) expect(v).toBe(w)
      else expect(Math.abs(v - w)).toBeLessThanOrEqual(Math.abs(w) * 1e-7)
    })
  })
}

const overview = (runs: number[], buckets?: number): SeriesQuery => ({ runs, metrics: ['loss'], x: 'step', ...(buckets ? { buckets } : {}) })

describe('slice summaries', () => {
  it('bucket to what the points bucket to, spikes and non-finite values included', () => {
    const list = points(1, 130, STEPS, 3, true)
    const step = Float64Array.from(list, (p) => p.step)
    const value = Float64Array.from(list, (p) => p.value)
    const slices = summarizeSlices(step, value, 0, Math.ceil(STEPS / SLICE_STEPS))
    for (const buckets of [10, 37, 100]) {
      const aligned = sliceBuckets([step[0]!, step[step.length - 1]!], buckets)!
      expect(aligned.buckets).toBeLessThanOrEqual(buckets)
      const fromPoints = bucketMinMax(step, value, aligned.range, aligned.buckets)
      const fromSlices = bucketSlices(slices, aligned.range, aligned.buckets)
      expect(fromSlices.x).toEqual(fromPoints.x)
      expect(fromSlices.count).toEqual(fromPoints.count)
      expect(fromSlices.min).toEqual(fromPoints.min)
      expect(fromSlices.max).toEqual(fromPoints.max)
      expect(fromSlices.points).toBe(fromPoints.points)
      fromSlices.y.forEach((v, k) => expect(v).toBeCloseTo(fromPoints.y[k]!, 10))
      expect(Math.max(...(fromSlices.max as number[]))).toBe(60)
    }
    // too short for buckets of a slice: not summarised
    expect(sliceBuckets([0, 100], 10)).toBeNull()
  })

  it('answer the overview as the raw points do, and are never used once their block changed', () => {
    const store = ExperimentStore.open(path.join(tempDir('elle-summary-'), 'store.sqlite'))
    try {
      const ids = fill(store)
      const q = overview(ids, 40)
      const fromSummaries = () => querySeries(store, q).charts[0]!
      const fromPoints = () => querySeries(store, q, { summaries: false }).charts[0]!
      expectSame(fromSummaries(), fromPoints())
      // written with the blocks, in the same transaction: one summary per block, with its stamp
      const stale = () =>
        store.db.prepare('SELECT COUNT(*) FROM metric_blocks b LEFT JOIN metric_summaries s USING (run_id, name, block) WHERE s.built IS NOT b.built').pluck().get()
      expect(stale()).toBe(0)
      // a rewritten step (a resumed run): the block is rebuilt, and so is its summary
      store.insertMetrics([{ ...points(ids[0]!, 100, 101, 1)[0]!, value: 1000 }])
      expect(Math.max(...(fromSummaries().lines[0]!.max as number[]))).toBe(1000)
      expectSame(fromSummaries(), fromPoints())
      // a summary that no longer matches its block's stamp (the block rebuilt by an older version) is not used
      store.db.prepare("UPDATE metric_summaries SET max = zeroblob(length(max)) WHERE run_id = ? AND block = 0 AND name = 'loss'").run(ids[0]!)
      expect(fromSummaries().lines[0]!.max![0]).toBe(0) // the summaries are what answers
      store.db.prepare("UPDATE metric_blocks SET built = built + 1 WHERE run_id = ? AND block = 0 AND name = 'loss'").run(ids[0]!)
      expectSame(fromSummaries(), fromPoints())
      // and the summary made on the way is stored with the new stamp
      expect(stale()).toBe(0)
    } finally {
      store.close()
    }
  })

  it('come to a store from before schema 12: the same answer, summaries made on the way or all at once', () => {
    const file = path.join(tempDir('elle-summary-'), 'v11.sqlite')
    const old = ExperimentStore.open(file, { targetVersion: 11 })
    const ids = fill(old)
    expect(old.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'metric_summaries'").get()).toBeUndefined()
    old.close()
    const store = ExperimentStore.open(file)
    try {
      const count = () => store.db.prepare('SELECT COUNT(*) FROM metric_summaries').pluck().get() as number
      expect(count()).toBe(0)
      const q = overview(ids, 40)
      expectSame(querySeries(store, q).charts[0]!, querySeries(store, q, { summaries: false }).charts[0]!)
      const blocks = store.db.prepare('SELECT COUNT(*) FROM metric_blocks').pluck().get() as number
      expect(count()).toBe(blocks)
      store.db.prepare('DELETE FROM metric_summaries').run()
      expect(store.series.buildSummaries()).toBe(blocks)
      expect(store.series.buildSummaries()).toBe(0)
      expectSame(querySeries(store, q).charts[0]!, querySeries(store, q, { summaries: false }).charts[0]!)
    } finally {
      store.close()
    }
    // a read-only store answers from the blocks without writing
    const ro = ExperimentStore.open(file, { readonly: true })
    try {
      ro.db.prepare('SELECT 1').get()
      const q = overview(ids, 40)
      expectSame(querySeries(ro, q).charts[0]!, querySeries(ro, q, { summaries: false }).charts[0]!)
    } finally {
      ro.close()
    }
  })
})
