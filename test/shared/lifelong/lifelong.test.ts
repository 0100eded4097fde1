// The lifelong views' pure functions against hand computations: a group's mean and t interval, the signs and
// intervals of a difference, BWT/FWT/forgetting on a 3×3 matrix, Welch's test against scipy, AP per stage end.
import { describe, expect, it } from 'vitest'
import { diffMatrix, groupMatrix, groupRuns, runMatrix, type Matrix } from '../../../src/shared/lifelong/matrix'
import { bwtFwt } from '../../../src/shared/lifelong/transfer'
import { tQuantileTwoSided, tTwoSidedP, welch, welchText } from '../../../src/shared/lifelong/welch'
import { stageAp } from '../../../src/shared/lifelong/stage'
import { downstreamRows } from '../../../src/shared/lifelong/downstream'
import { transferOf } from '../../../src/main/engine/downstream/metrics'
import type { ComparedRun } from '../../../src/shared/contract'

const one = (values: Array<Array<number | null>>, ci: Array<Array<{ lo: number; hi: number } | null>> | null = null, keys = values.map((_, i) => `stage:${i}`)): Matrix => ({
  keys,
  rows: keys.map((k) => `after ${k}`),
  cols: ['a', 'b'],
  values,
  intervals: ci ?? values.map((r) => r.map(() => null)),
  n: values.map((r) => r.map((v) => (v === null ? 0 : 1)))
})

describe('groupMatrix', () => {
  it('is the mean over seeds with a t interval, and keeps a lone run’s own interval', () => {
    const g = groupMatrix([one([[10, null]], [[{ lo: 9, hi: 11 }, null]]), one([[12, 5]], [[null, { lo: 4, hi: 6.5 }]]), one([[14, null]])])
    expect(g.values[0]![0]).toBeCloseTo(12, 12)
    // sd = 2, t(2) = 4.303: half = 4.303 · 2 / √3 = 4.9687
    expect(g.intervals[0]![0]!.lo).toBeCloseTo(12 - 4.96867, 4)
    expect(g.intervals[0]![0]!.hi).toBeCloseTo(12 + 4.96867, 4)
    expect(g.n[0]).toEqual([3, 1])
    expect(g.values[0]![1]).toBe(5)
    expect(g.intervals[0]![1]).toEqual({ lo: 4, hi: 6.5 })
  })

  it('lines rows up by stage, not by position', () => {
    const g = groupMatrix([one([[10, null]], null, ['stage:0']), one([[20, 30]], null, ['stage:1'])])
    expect(g.keys).toEqual(['stage:0', 'stage:1'])
    expect(g.values).toEqual([
      [10, null],
      [20, 30]
    ])
  })
})

describe('diffMatrix', () => {
  it('is A − B with its sign, on the rows both have, and combines the two intervals side by side', () => {
    const a = one(
      [
        [12, null],
        [15, 8]
      ],
      [
        [{ lo: 10, hi: 15 }, null],
        [null, null]
      ]
    )
    const b = one(
      [[10, 20]],
      [
        [
          { lo: 9, hi: 11 },
          { lo: 19, hi: 21 }
        ]
      ],
      ['stage:0']
    )
    const d = diffMatrix(a, b)
    expect(d.keys).toEqual(['stage:0'])
    expect(d.values[0]).toEqual([2, null])
    // lo = 2 − hypot(12 − 10, 11 − 10); hi = 2 + hypot(15 − 12, 10 − 9)
    expect(d.intervals[0]![0]!.lo).toBeCloseTo(2 - Math.sqrt(5), 12)
    expect(d.intervals[0]![0]!.hi).toBeCloseTo(2 + Math.sqrt(10), 12)
    expect(diffMatrix(b, a).values[0]![0]).toBe(-2)
  })
})

describe('runMatrix and groupRuns', () => {
  const run = {
    id: 1,
    method: 'elle',
    experimentName: 'x',
    matrix: [
      { step: 10, wallS: 1, flops: 1, kind: 'train', stage: 0, domain: 'a', stageEnd: false, ppl: [50, null] },
      { step: 20, wallS: 2, flops: 2, kind: 'train', stage: 0, domain: 'a', stageEnd: true, ppl: [40, null], ci: [{ lo: 38, hi: 42 }, null] },
      { step: 40, wallS: 4, flops: 4, kind: 'train', stage: 1, domain: 'b', stageEnd: true, ppl: [45, 30] }
    ]
  }
  it('takes stage ends with their intervals, or every validation', () => {
    const m = runMatrix(run, ['a', 'b'])
    expect(m.keys).toEqual(['stage:0', 'stage:1'])
    expect(m.rows).toEqual(['after a (20)', 'after b (40)'])
    expect(m.intervals[0]).toEqual([{ lo: 38, hi: 42 }, null])
    expect(runMatrix(run, ['a', 'b'], 'all').keys).toEqual(['step:10', 'step:20', 'step:40'])
  })
  it('groups by method or experiment in order of appearance', () => {
    const runs = [
      { id: 1, method: 'elle', experimentName: 'e1' },
      { id: 2, method: 'naive', experimentName: 'e2' },
      { id: 3, method: 'elle', experimentName: 'e3' }
    ]
    expect(groupRuns(runs, 'method').map((g) => g.runIds)).toEqual([[1, 3], [2]])
    expect(groupRuns(runs, 'experiment')).toHaveLength(3)
  })
})

describe('bwtFwt', () => {
  const R = [
    [0.8, 0.5, null],
    [0.7, 0.9, 0.55],
    [0.6, 0.85, 0.95]
  ]
  const b = [0.4, 0.45, 0.5]
  it('follows Lopez-Paz & Ranzato on a 3×3 example by hand', () => {
    const t = bwtFwt(R, b)
    // BWT = ((0.6 − 0.8) + (0.85 − 0.9)) / 2; FWT = ((0.5 − 0.45) + (0.55 − 0.5)) / 2
    expect(t.bwt).toBeCloseTo(-0.125, 12)
    expect(t.fwt).toBeCloseTo(0.05, 12)
    // forgetting: max earlier − final: task 0: 0.8 − 0.6; task 1: 0.9 − 0.85
    expect(t.forgetting[0]).toBeCloseTo(0.2, 12)
    expect(t.forgetting[1]).toBeCloseTo(0.05, 12)
    expect(t.meanForgetting).toBeCloseTo(0.125, 12)
    expect(t.lastStage).toBe(2)
  })
  it('agrees with what the engine’s forgetting job stores', () => {
    const e = transferOf(R, b)
    expect(bwtFwt(R, b).bwt).toBeCloseTo(e.bwt!, 12)
    expect(bwtFwt(R, b).fwt).toBeCloseTo(e.fwt!, 12)
  })
  it('has no BWT with one stage', () => {
    expect(bwtFwt([[0.8]], [0.4]).bwt).toBeNull()
  })
})

describe('welch', () => {
  it('matches scipy.stats.ttest_ind(equal_var=False)', () => {
    // a = [0.71, 0.74, 0.69], b = [0.62, 0.66, 0.60, 0.64]: t = 4.287464628562714, df = 4.524461839530332, p = 0.009755211294485698
    const r = welch({ mean: 0.7133333333333333, std: 0.025166114784235857, n: 3 }, { mean: 0.63, std: 0.025819888974716137, n: 4 })!
    expect(r.t).toBeCloseTo(4.287464628562714, 9)
    expect(r.df).toBeCloseTo(4.524461839530332, 9)
    expect(r.p).toBeCloseTo(0.009755211294485698, 8)
    expect(r.significant).toBe(true)
    expect(welchText(r, 3, 4)).toBe('p = 0.010 (n 3 vs 4)')
  })
  it('has Student’s t right: p(2.0, 10) and the 97.5% quantiles', () => {
    expect(tTwoSidedP(2, 10)).toBeCloseTo(0.07338803477074037, 9)
    expect(tQuantileTwoSided(4.7)).toBeCloseTo(2.62072607535317, 6)
    expect(tQuantileTwoSided(10)).toBeCloseTo(2.228, 3)
  })
  it('refuses one seed and says so', () => {
    expect(welch({ mean: 1, std: null, n: 1 }, { mean: 2, std: 0.1, n: 3 })).toBeNull()
    expect(welchText(null, 1, 3)).toBe('no test (n 1 vs 3: needs 2 seeds each)')
    const ns = welch({ mean: 0.7, std: 0.1, n: 3 }, { mean: 0.69, std: 0.1, n: 3 })
    expect(welchText(ns, 3, 3)).toMatch(/^not significant \(p = 0\.9\d\d, n 3 vs 3\)$/)
  })
})

describe('downstreamRows', () => {
  const score = (mean: number, std: number | null, seeds: number) => ({
    task: 'topic',
    domain: 'news',
    metric: 'accuracy',
    checkpointId: null,
    checkpointStep: null,
    finetuneSteps: 150,
    mean,
    std,
    seeds
  })
  it('marks the best per task and tests each run against the reference', () => {
    const rows = downstreamRows(
      [
        { id: 1, downstream: [score(0.63, 0.025819888974716137, 4)] },
        { id: 2, downstream: [score(0.7133333333333333, 0.025166114784235857, 3)] },
        { id: 3, downstream: [] }
      ],
      1
    )
    expect(rows).toHaveLength(1)
    const [ref, other, none] = rows[0]!.cells
    expect(ref).toMatchObject({ best: false, verdict: null, test: null })
    expect(other).toMatchObject({ best: true, verdict: 'p = 0.010 (n 3 vs 4)' })
    expect(none).toBeNull()
  })
})

describe('stageAp', () => {
  it('reads AP, AP+, geometric AP and their intervals at each stage end', () => {
    const run = {
      matrix: [
        { step: 20, wallS: 2, flops: 20, kind: 'train', stage: 0, domain: 'a', stageEnd: true, ppl: [40] },
        { step: 30, wallS: 3, flops: 30, kind: 'train', stage: 1, domain: 'b', stageEnd: false, ppl: [41, 60] },
        { step: 40, wallS: 4, flops: 40, kind: 'train', stage: 1, domain: 'b', stageEnd: true, tokens: 4096, ppl: [45, 30] }
      ],
      ap: [20, 30, 40].map((step) => ({ step, value: step + 0.5, wallS: 0, flops: 0 })),
      apGeo: [20, 40].map((step) => ({ step, value: step, wallS: 0, flops: 0 })),
      apPlus: [{ step: 40, value: 5, wallS: 0, flops: 0 }],
      intervals: [{ step: 40, ap: { lo: 40, hi: 41 }, apPlus: null, apGeo: { lo: 39, hi: 41 } }]
    } satisfies Pick<ComparedRun, 'matrix' | 'ap' | 'apPlus' | 'apGeo' | 'intervals'>
    const s = stageAp(run)
    expect(s.map((r) => [r.step, r.ap, r.apPlus, r.apGeo])).toEqual([
      [20, 20.5, null, 20],
      [40, 40.5, 5, 40]
    ])
    expect(s[1]!.ci).toEqual({ ap: { lo: 40, hi: 41 }, apPlus: null, apGeo: { lo: 39, hi: 41 } })
    expect(s[0]!.ci.ap).toBeNull()
    expect(s.map((r) => r.tokens)).toEqual([null, 4096])
  })
})
