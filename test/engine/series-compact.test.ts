// The compact numbers of runs.series (src/shared/series/compact.ts): 8 significant digits instead of 17, with
// every bucket's max rounded up and min down, so the envelope still holds every stored point (no spike is cut), and
// every value within float32 precision of the full-precision answer (the bucketing of the raw columns).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiHandler, type ApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import type { MetricPoint } from '../../src/main/engine/store/store'
import { bucketMinMax, roundSig, smooth } from '../../src/shared/series/index'
import { SeriesResult } from '../../src/shared/series'
import { tempEngine } from '../helpers/engine'

const STEPS = 20_000
const BUCKETS = 400
/** float32's rounding bound: half an ulp, relative */
const F32 = 2 ** -24

let engine: Engine
let handle: ApiHandler
let run: number
let xs: Float64Array
let ys: Float64Array
const spikes = [1234, 7777, 15001]

beforeAll(async () => {
  engine = await tempEngine()
  handle = createApiHandler(engine, 'browser')
  run = engine.createRun('compact', { name: 'compact', stages: [{ domain: 'd', steps: STEPS }] } as never).id
  xs = new Float64Array(STEPS)
  ys = new Float64Array(STEPS)
  let rand = 12345
  const points: MetricPoint[] = []
  for (let step = 0; step < STEPS; step++) {
    rand = (rand * 16807) % 2147483647
    // values with all 17 digits, some negative, and a few spikes far above their neighbours
    const value = 2.5 + Math.exp(-step / 5000) + (rand / 2147483647 - 0.5) * 0.3 + (spikes.includes(step) ? 40 + step / 1e4 : 0) - (step === 3333 ? 9.87654321 : 0)
    xs[step] = step
    ys[step] = value
    points.push({ runId: run, phase: { kind: 'train', stage: 0, domain: 'd' }, step, tokensSeen: step * 4096, wallS: step * 0.0123456789, flops: step * 1e9, name: 'loss', value })
  }
  engine.store.insertMetrics(points)
})
afterAll(() => engine?.close())

/** significant digits of the shortest decimal of v */
const significant = (v: number): number => v.toExponential().split('e')[0]!.replace(/[-.]/g, '').length
const series = async (params: Record<string, unknown>): Promise<SeriesResult> => SeriesResult.parse(await handle('runs.series', params))
const near = (got: number | null | undefined, want: number | null | undefined): boolean =>
  got === want || (typeof got === 'number' && typeof want === 'number' && Math.abs(got - want) <= Math.abs(want) * F32)

describe('runs.series compact numbers', () => {
  it('keeps every spike: each bucket max is the true max rounded up, each min the true min rounded down, all within float32 precision', async () => {
    const line = (await series({ runs: [run], metrics: ['loss'], x: 'step', buckets: BUCKETS })).charts[0]!.lines[0]!
    const full = bucketMinMax(xs, ys, null, BUCKETS)
    expect(line.x.length).toBe(BUCKETS)
    expect(line.points).toBe(STEPS)
    for (let b = 0; b < BUCKETS; b++) {
      const [max, trueMax, min, trueMin] = [line.max![b]!, full.max![b]!, line.min![b]!, full.min![b]!]
      expect(max).toBeGreaterThanOrEqual(trueMax)
      expect(min).toBeLessThanOrEqual(trueMin)
      expect(near(max, trueMax) && near(min, trueMin)).toBe(true)
      expect(near(line.y[b], full.y[b]) && near(line.x[b], full.x[b])).toBe(true)
    }
    // each spike is the max of its bucket, and the drawn max holds it
    for (const s of spikes) {
      const b = line.x.findIndex((_, i) => i === BUCKETS - 1 || full.x[i + 1]! > s + 0.5 * (full.x[i + 1]! - full.x[i]!)) // the bucket of step s
      const bucket = full.x.findIndex((x, i) => Math.abs(x - s) <= STEPS / BUCKETS / 2 + 1 && full.max![i] === ys[s])
      expect(bucket, `spike at ${s}`).toBeGreaterThanOrEqual(0)
      expect(b).toBeGreaterThanOrEqual(0)
      expect(line.max![bucket]!).toBeGreaterThanOrEqual(ys[s]!)
      expect(line.max![bucket]! - ys[s]!).toBeLessThanOrEqual(ys[s]! * F32)
    }
    expect(Math.min(...(line.min as number[]))).toBeLessThanOrEqual(ys[3333]!)
    // at most 8 significant digits: about half the bytes of the full-precision answer
    expect(Math.max(...(line.y as number[]).map(significant), ...(line.max as number[]).map(significant), ...(line.min as number[]).map(significant))).toBeLessThanOrEqual(8)
    const fullJson = JSON.stringify({ x: full.x, y: full.y, min: full.min, max: full.max }).length
    expect(JSON.stringify({ x: line.x, y: line.y, min: line.min, max: line.max }).length).toBeLessThan(0.65 * fullJson)
  })

  it('smoothed, zoomed and on other x axes: the same precision, raw and smoothed values alike; whole-number x stays exact', async () => {
    const smoothing = { kind: 'ema', param: 0.9 } as const
    const range: [number, number] = [5000.5, 9000.25]
    const line = (await series({ runs: [run], metrics: ['loss'], x: 'step', buckets: BUCKETS, smoothing, range })).charts[0]!.lines[0]!
    const full = bucketMinMax(xs, smooth(ys, smoothing), range, BUCKETS, { also: [ys], minMaxOf: ys })
    expect(line.x.length).toBe(full.x.length)
    for (let b = 0; b < full.x.length; b++) {
      expect(near(line.y[b], full.y[b]) && near(line.raw![b], full.also[0]![b]) && near(line.x[b], full.x[b])).toBe(true)
      expect(line.max![b]!).toBeGreaterThanOrEqual(full.max![b]!)
      expect(line.min![b]!).toBeLessThanOrEqual(full.min![b]!)
    }
    // fewer points than buckets: every point itself; steps and token counts are whole numbers and stay exact
    const few = (await series({ runs: [run], metrics: ['loss'], x: 'tokens', range: [4096 * 100, 4096 * 199] })).charts[0]!.lines[0]!
    expect(few.x).toEqual(Array.from({ length: 100 }, (_, i) => (100 + i) * 4096))
    few.y.forEach((v, i) => expect(near(v, ys[100 + i])).toBe(true))
  })
})

describe('roundSig', () => {
  it('rounds to 8 significant digits, down never above and up never below the value, across magnitudes', () => {
    expect(roundSig(2.734567890123456)).toBe(2.7345679)
    expect(roundSig(2.734567890123456, 8, 'down')).toBe(2.7345678)
    expect(roundSig(-2.734567890123456, 8, 'down')).toBe(-2.7345679)
    expect(roundSig(123456789012, 8, 'up')).toBe(123456790000)
    expect(roundSig(0)).toBe(0)
    let rand = 99
    for (let i = 0; i < 20_000; i++) {
      rand = (rand * 16807) % 2147483647
      const v = (rand / 2147483647 - 0.3) * 10 ** ((i % 40) - 20)
      const [d, u, n] = [roundSig(v, 8, 'down'), roundSig(v, 8, 'up'), roundSig(v)]
      expect(d <= v && u >= v).toBe(true)
      expect(Math.abs(n - v) <= Math.abs(v) * F32 && v - d <= Math.abs(v) * 2e-7 && u - v <= Math.abs(v) * 2e-7).toBe(true)
      expect(significant(n)).toBeLessThanOrEqual(8)
      // directed roundings keep the value itself where no exact power of ten scales it (below ~1e-15)
      if (Math.abs(v) > 1e-14) expect(significant(d) <= 8 && significant(u) <= 8).toBe(true)
    }
  })
})

describe('the number columns of a curve', () => {
  it('are checked in one loop and still refuse what is not a finite number (null only where a value may be missing)', () => {
    const line = { key: 'run:1', label: '#1', color: '#000', role: 'run', x: [0, 1, 2], y: [1, null, 3], min: [1, null, 2], max: [1, null, 4], points: 3 }
    const answer = (over: object) => ({
      x: 'step',
      xLabel: 'step',
      range: null,
      charts: [{ metric: 'loss', yLabel: 'loss', lines: [{ ...line, ...over }], markers: [], extent: [0, 2] }]
    })
    expect(SeriesResult.safeParse(answer({})).success).toBe(true)
    for (const bad of [{ y: [1, '2', 3] }, { y: [1, Infinity, 3] }, { max: [1, NaN, 3] }, { x: [0, null, 2] }, { y: { 0: 1 } }]) {
      const r = SeriesResult.safeParse(answer(bad))
      expect(r.success, JSON.stringify(bad)).toBe(false)
      expect(r.error!.issues[0]!.message).toMatch(/expected an array of finite numbers/)
      expect(r.error!.issues[0]!.path).toEqual(['charts', 0, 'lines', 0, Object.keys(bad)[0]!])
    }
  })
})
