import { describe, expect, it } from 'vitest'
import { averagePerplexity, forgettingAP, geometricAveragePerplexity, lifelongSummary } from '../../../src/main/engine/metrics/lifelong'

describe('AP and AP+ (elle-method §16)', () => {
  it('AP is the arithmetic mean of current perplexities; the geometric form is exp of the mean loss', () => {
    expect(averagePerplexity([10, 20, 60])).toBe(30)
    expect(geometricAveragePerplexity([Math.log(10), Math.log(1000)])).toBeCloseTo(100, 10)
  })

  it("AP+ averages the increase over each previous domain's end-of-stage perplexity, excluding the current domain", () => {
    const reference = new Map([
      ['press', 50],
      ['fiction', 80]
    ])
    const current = new Map([
      ['press', 56], // +6
      ['fiction', 78], // -2
      ['email', 300] // the domain being learned: excluded
    ])
    expect(forgettingAP(current, reference, 'email')).toBe(2)
    expect(forgettingAP(new Map([['press', 40]]), new Map(), 'press')).toBeNull() // undefined in the first stage
  })

  it('builds the perplexity matrix and curves from stored points', () => {
    const p = (name: string, step: number, value: number) => ({ name, step, value, wallS: step / 10, flops: step * 1e9, phase: { kind: 'train', stage: 0, domain: 'x' } })
    const summary = lifelongSummary([
      p('ppl/press', 10, 100),
      p('ap', 10, 100),
      p('ppl/press', 20, 90),
      p('ppl/fiction', 20, 200),
      p('ap', 20, 145),
      p('ap_plus', 20, 5),
      p('ap_geo', 20, 134.2),
      p('params', 0, 1000),
      p('loss', 20, 4)
    ])
    expect(summary.domains).toEqual(['press', 'fiction'])
    expect(summary.steps).toEqual([10, 20])
    expect(summary.ppl).toEqual([
      [100, null],
      [90, 200]
    ])
    expect(summary.final).toEqual({ ap: 145, apGeo: 134.2, apPlus: 5, wallS: 2, flops: 20e9 })
    expect(summary.params).toEqual([{ phase: { kind: 'train', stage: 0, domain: 'x' }, step: 0, value: 1000 }])
  })
})
