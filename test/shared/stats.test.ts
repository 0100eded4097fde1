// The bootstrap and paired-difference intervals of src/shared/stats.ts, against cases with known answers.
import { describe, expect, it } from 'vitest'
import { differenceVerdict, docsPerplexity, lifelongIntervals, pairedDifference, percentileInterval, quantile, seededUniform, tQuantile975 } from '../../src/shared/stats'

const docs = (losses: number[], tokens = 100) => ({ loss: losses.map((l) => l * tokens), tokens: losses.map(() => tokens) })

describe('bootstrap over validation documents', () => {
  it('quantiles and percentile intervals interpolate between order statistics', () => {
    expect(quantile([3, 1, 2, 4], 0.5)).toBe(2.5)
    expect(quantile([], 0.5)).toBeNaN()
    const ci = percentileInterval([...Array(101).keys()])
    expect(ci.lo).toBeCloseTo(2.5, 10)
    expect(ci.hi).toBeCloseTo(97.5, 10)
  })

  it('gives a zero-width interval when every document has the same loss, and covers the point estimate otherwise', () => {
    const flat = lifelongIntervals({ current: new Map([['a', docs([2, 2, 2, 2])]]), reference: new Map(), currentDomain: 'a' }, { samples: 200 })
    expect(flat.ppl.a!.lo).toBeCloseTo(Math.exp(2), 10)
    expect(flat.ppl.a!.hi).toBeCloseTo(Math.exp(2), 10)
    expect(flat.apPlus).toBeNull()
    const spread = docs([1, 2, 3, 4, 5, 6, 7, 8])
    const r = lifelongIntervals({ current: new Map([['a', spread]]), reference: new Map(), currentDomain: 'a' })
    const point = docsPerplexity(spread)
    expect(r.ppl.a!.lo).toBeLessThan(point)
    expect(r.ppl.a!.hi).toBeGreaterThan(point)
    expect(r.ap).toEqual(r.ppl.a) // one domain: AP is its perplexity
  })

  it('is as wide as the textbook standard error: the loss interval of 400 documents ~ mean ± 1.96·sd/√n', () => {
    const rand = seededUniform(9)
    const losses = Array.from({ length: 400 }, () => 3 + (rand() - 0.5)) // uniform, sd = 1/√12
    const r = lifelongIntervals({ current: new Map([['a', docs(losses)]]), reference: new Map(), currentDomain: 'a' }, { samples: 2000 })
    const width = Math.log(r.ppl.a!.hi) - Math.log(r.ppl.a!.lo)
    const expected = (2 * 1.96 * (1 / Math.sqrt(12))) / Math.sqrt(400)
    expect(width / expected).toBeGreaterThan(0.85)
    expect(width / expected).toBeLessThan(1.15)
  })

  it('pairs a domain with its own end-of-stage reference: a rise on every document gives an AP+ interval above zero', () => {
    const before = docs([1, 2, 3, 4, 5])
    const after = docs([1.5, 2.5, 3.5, 4.5, 5.5])
    const r = lifelongIntervals(
      {
        current: new Map([
          ['a', after],
          ['b', docs([2, 2, 2])]
        ]),
        reference: new Map([['a', before]]),
        currentDomain: 'b'
      },
      { samples: 300 }
    )
    // exp(l + 0.5) - exp(l) varies with the resample, but is always positive; AP+ covers the point value
    const point = docsPerplexity(after) - docsPerplexity(before)
    expect(r.apPlus!.lo).toBeGreaterThan(0)
    expect(r.apPlus!.lo).toBeLessThanOrEqual(point)
    expect(r.apPlus!.hi).toBeGreaterThanOrEqual(point)
    // geometric AP: exp of the mean of the two domains' losses, inside [min, max] of the domain perplexities
    expect(r.apGeo.lo).toBeGreaterThan(0)
    expect(r.apGeo.hi).toBeLessThan(r.ap.hi)
  })

  it('is deterministic for a seed and refuses references over other documents', () => {
    const input = { current: new Map([['a', docs([1, 3, 2, 5])]]), reference: new Map(), currentDomain: 'a' }
    expect(lifelongIntervals(input, { seed: 4 })).toEqual(lifelongIntervals(input, { seed: 4 }))
    expect(() =>
      lifelongIntervals({
        current: new Map([
          ['a', docs([1, 2])],
          ['b', docs([1])]
        ]),
        reference: new Map([['a', docs([1])]]),
        currentDomain: 'b'
      })
    ).toThrow(/a has 2 documents/)
  })
})

describe('paired-by-seed differences between two methods', () => {
  it('uses a t interval over the seeds: consistent differences are significant, mixed ones are within noise', () => {
    const clear = pairedDifference([
      { a: 10, b: 12 },
      { a: 11, b: 13.1 },
      { a: 9.5, b: 11.4 }
    ])!
    expect(clear.basis).toBe('t-over-seeds')
    expect(clear.mean).toBeCloseTo(-2, 1)
    expect(clear.hi!).toBeLessThan(0)
    expect(clear.significant).toBe(true)
    expect(differenceVerdict(clear)).toMatch(/^lower by 2.00 \(95% CI \[-2\.\d+, -1\.\d+\]\)$/)
    const mixed = pairedDifference([
      { a: 10, b: 12 },
      { a: 11, b: 10 },
      { a: 9.5, b: 9.4 }
    ])!
    expect(mixed.significant).toBe(false)
    expect(differenceVerdict(mixed)).toMatch(/^within noise/)
    // t with 2 degrees of freedom: half-width = 4.303 · sd / √3
    const diffs = [-2, 1, 0.1]
    const m = diffs.reduce((a, b) => a + b, 0) / 3
    const sd = Math.sqrt(diffs.reduce((a, x) => a + (x - m) ** 2, 0) / 2)
    expect(mixed.hi! - mixed.mean).toBeCloseTo((tQuantile975(2) * sd) / Math.sqrt(3), 6)
  })

  it('with one seed combines the two runs’ own intervals, and says so', () => {
    const d = pairedDifference([{ a: 10, b: 12, aCi: { lo: 9, hi: 11 }, bCi: { lo: 11.5, hi: 12.5 } }])!
    expect(d.basis).toBe('one-seed-intervals')
    expect(d.seeds).toBe(1)
    expect(d.significant).toBe(true)
    const wide = pairedDifference([{ a: 10, b: 12, aCi: { lo: 7, hi: 13 }, bCi: { lo: 9, hi: 15 } }])!
    expect(wide.significant).toBe(false)
    // no intervals at all: never significant
    expect(pairedDifference([{ a: 10, b: 12 }])!.significant).toBe(false)
    expect(pairedDifference([])).toBeNull()
    expect(differenceVerdict(null)).toBe('no paired seeds')
  })
})
