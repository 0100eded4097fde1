import { describe, expect, it } from 'vitest'
import { bucketMinMax, gridOf, groupLines, onGrid, smooth, yLabelOf } from '../../../src/shared/series/index'

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

describe('bucketMinMax', () => {
  it('keeps a single spike of 1e6 among 100,000 points in a bucket max, and counts every point', () => {
    const x = range(100_000)
    const y = x.map((i) => 1 + Math.sin(i / 1000) * 0.1)
    y[54_321] = 1e6
    const b = bucketMinMax(x, y, null, 800)
    expect(b.x.length).toBeLessThanOrEqual(800)
    expect(b.points).toBe(100_000)
    expect(b.count.reduce((s, c) => s + c, 0)).toBe(100_000)
    expect(Math.max(...(b.max as number[]))).toBe(1e6)
    expect(Math.min(...(b.min as number[]))).toBeCloseTo(0.9, 3)
    // the spike's bucket is the one whose x range holds it
    const at = (b.max as number[]).indexOf(1e6)
    expect(Math.abs(b.x[at]! - 54_321)).toBeLessThan(100_000 / 800)
  })

  it('returns the points exactly, without min/max, when they are no more than the buckets', () => {
    const b = bucketMinMax([1, 2, 3], [5, NaN, 7], null, 10)
    expect(b).toMatchObject({ x: [1, 2, 3], y: [5, null, 7], points: 3 })
    expect(b.min).toBeUndefined()
  })

  it('buckets only the range, inclusive at both ends', () => {
    const x = range(1000)
    const b = bucketMinMax(x, x, [100, 199], 10)
    expect(b.points).toBe(100)
    expect(b.min![0]).toBe(100)
    expect(b.max!.at(-1)).toBe(199)
  })

  it('averages the `also` columns in the same buckets and takes min/max from `minMaxOf`', () => {
    const x = range(100)
    const raw = x.map((i) => (i === 50 ? 100 : 0))
    const flat = x.map(() => 1)
    const b = bucketMinMax(x, flat, null, 10, { also: [raw], minMaxOf: raw })
    expect(b.y.every((v) => v === 1)).toBe(true)
    expect(Math.max(...(b.max as number[]))).toBe(100)
    expect(b.also[0]![5]).toBe(10)
  })

  it('summarises every `also` column alike, the first and the others, mean or last, gaps skipped', () => {
    const x = range(100)
    const a = x.map((i) => (i % 10 === 9 ? NaN : i))
    const b = x.map((i) => 2 * i)
    const c = x.map((i) => (i < 10 ? NaN : -i))
    for (const stat of ['mean', 'last'] as const) {
      const r = bucketMinMax(x, x, null, 10, { also: [a, b, c], stat })
      for (let k = 0; k < 10; k++) {
        const at = (col: number[]) => col.slice(10 * k, 10 * k + 10).filter(Number.isFinite)
        const want = (col: number[]) => (at(col).length === 0 ? null : stat === 'last' ? at(col).at(-1)! : at(col).reduce((s, v) => s + v, 0) / at(col).length)
        expect([r.also[0]![k], r.also[1]![k], r.also[2]![k]]).toEqual([want(a), want(b), want(c)])
      }
    }
  })
})

describe('smooth', () => {
  it('EMA is debiased at the start: the first point equals the raw first point', () => {
    const s = smooth([10, 20, 30], { kind: 'ema', param: 0.9 })
    expect(s[0]).toBeCloseTo(10, 12)
    // second: (0.9*0.1*10 + 0.1*20) / (1 - 0.81)
    expect(s[1]).toBeCloseTo((0.09 * 10 + 0.1 * 20) / 0.19, 12)
  })

  it('EMA of a long series equals the debiased formula at every point to 1e-12, gaps included (also past where 1 - w^t is 1)', () => {
    let seed = 7
    const y = Array.from({ length: 5000 }, (_, i) => (i === 100 || i === 4000 ? NaN : ((seed = (seed * 16807) % 2147483647) / 2147483647) * 10))
    for (const w of [0.6, 0.9, 0.99]) {
      const expected: number[] = []
      let acc = 0
      let t = 0
      for (const v of y) {
        if (!Number.isFinite(v)) {
          expected.push(v)
          continue
        }
        acc = acc * w + (1 - w) * v
        t++
        expected.push(acc / (1 - Math.pow(w, t)))
      }
      const got = [...smooth(y, { kind: 'ema', param: w })]
      got.forEach((v, i) => (Number.isNaN(expected[i]!) ? expect(v).toBeNaN() : expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-12 * Math.abs(expected[i]!))))
    }
  })

  it('Gaussian of a constant is the constant, edges included', () => {
    const s = smooth(new Array(200).fill(3.5), { kind: 'gaussian', param: 7 })
    for (const v of s) expect(v).toBeCloseTo(3.5, 12)
  })

  it('running average is trailing over `param` points', () => {
    expect([...smooth([1, 2, 3, 4, 5], { kind: 'running', param: 2 })]).toEqual([1, 1.5, 2.5, 3.5, 4.5])
  })

  it('skips NaN and Infinity: they do not poison their neighbours', () => {
    for (const kind of ['ema', 'running', 'gaussian'] as const) {
      const s = smooth([1, 1, NaN, 1, Infinity, 1, 1], { kind, param: kind === 'ema' ? 0.5 : 2 })
      expect(Number.isNaN(s[2])).toBe(true)
      expect(s[4]).toBe(Infinity)
      for (const i of [0, 1, 3, 5, 6]) expect(s[i]).toBeCloseTo(1, 12)
    }
  })

  it('none returns the series unchanged', () => {
    expect([...smooth([3, 1, 2], { kind: 'none', param: 0 })]).toEqual([3, 1, 2])
  })
})

describe('groupLines', () => {
  it('ci95 over 3 seeds matches a hand computation with t(df=2) = 4.303', () => {
    const x = [0, 1, 2, 3]
    const members = [
      { x, y: [1, 1, 1, 1] },
      { x, y: [2, 2, 2, 2] },
      { x, y: [6, 6, 6, 6] }
    ]
    const g = groupLines(members, { stat: 'mean', band: 'ci95', range: [0, 3], buckets: 4 })
    // mean 3, sd = sqrt(((1-3)^2 + (2-3)^2 + (6-3)^2) / 2) = sqrt(7), half width = 4.303 * sqrt(7) / sqrt(3)
    const half = (4.303 * Math.sqrt(7)) / Math.sqrt(3)
    for (let i = 0; i < g.x.length; i++) {
      expect(g.y[i]).toBeCloseTo(3, 12)
      expect(g.lo![i]).toBeCloseTo(3 - half, 9)
      expect(g.hi![i]).toBeCloseTo(3 + half, 9)
      expect(g.n[i]).toBe(3)
    }
  })

  it('median with std and sem bands', () => {
    const x = [0, 10]
    const members = [1, 2, 6].map((v) => ({ x, y: [v, v] }))
    const std = groupLines(members, { stat: 'median', band: 'std', range: [0, 10], buckets: 2 })
    expect(std.y[0]).toBe(2)
    expect(std.hi![0]! - std.y[0]!).toBeCloseTo(Math.sqrt(7), 12)
    const sem = groupLines(members, { stat: 'mean', band: 'sem', range: [0, 10], buckets: 2 })
    expect(sem.hi![0]! - sem.y[0]!).toBeCloseTo(Math.sqrt(7 / 3), 12)
  })

  it('aligns members on bucket centres: interpolated inside their extent, null outside', () => {
    const grid = gridOf([0, 100], 10)
    expect(grid[0]).toBe(5)
    const short = onGrid({ x: [0, 40], y: [0, 40] }, grid, [0, 100])
    // bucket [0,10) holds x=0 (mean 0); 15, 25, 35 interpolate; bucket [40,50) holds x=40; beyond: null
    expect(short.slice(0, 6)).toEqual([0, 15, 25, 35, 40, null])
    const g = groupLines(
      [
        { x: [0, 40], y: [0, 40] },
        { x: [0, 100], y: [0, 100] }
      ],
      { stat: 'mean', band: 'std', range: [0, 100], buckets: 10 }
    )
    expect(g.n.slice(0, 6)).toEqual([2, 2, 2, 2, 2, 1])
    // one member: no band
    expect(g.lo![7]).toBeNull()
  })
})

describe('yLabelOf', () => {
  it('names what a series measures', () => {
    expect(yLabelOf('ppl/fiction')).toBe('perplexity of fiction')
    expect(yLabelOf('ap_geo')).toBe('geometric AP (perplexity)')
    expect(yLabelOf('lr')).toBe('learning rate')
    expect(yLabelOf('grad_norm')).toBe('gradient norm')
    expect(yLabelOf('tokens_per_s')).toBe('tokens/s')
    expect(yLabelOf('penalty')).toBe('penalty')
    expect(yLabelOf('custom')).toBe('custom')
  })
})
