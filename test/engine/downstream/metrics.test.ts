// Scores and transfer summaries against hand computations.
import { describe, expect, it } from 'vitest'
import { accuracyOf, confusionMatrix, macroF1Of, meanStd, transferOf } from '../../../src/main/engine/downstream'

describe('accuracy and macro-F1', () => {
  // gold \ predicted   0  1  2  3
  //            0       5  1  0  0
  //            1       2  3  1  0
  // class 2 is predicted once but never gold; class 3 occurs nowhere.
  const gold = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
  const predicted = [0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 2]

  it('counts a confusion matrix', () => {
    expect(confusionMatrix(gold, predicted, 4)).toEqual([
      [5, 1, 0, 0],
      [2, 3, 1, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0]
    ])
  })

  it('macro-F1 averages per-class F1 over the classes present in gold or predictions', () => {
    const c = confusionMatrix(gold, predicted, 4)
    // class 0: P 5/7, R 5/6 -> F1 10/13; class 1: P 3/4, R 3/6 -> F1 0.6; class 2: P 0 -> F1 0; class 3 left out
    const f0 = (2 * (5 / 7) * (5 / 6)) / (5 / 7 + 5 / 6)
    const f1 = (2 * (3 / 4) * (3 / 6)) / (3 / 4 + 3 / 6)
    expect(f0).toBeCloseTo(10 / 13, 12)
    expect(macroF1Of(c)).toBeCloseTo((f0 + f1 + 0) / 3, 12)
    expect(accuracyOf(c)).toBeCloseTo(8 / 12, 12)
  })

  it('gives 1 for a perfect classifier and ignores absent classes', () => {
    const c = confusionMatrix([0, 1, 1, 2], [0, 1, 1, 2], 5)
    expect(macroF1Of(c)).toBe(1)
    expect(accuracyOf(c)).toBe(1)
  })

  it('refuses labels out of range and length mismatches', () => {
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow(/out of range/)
    expect(() => confusionMatrix([0], [0, 1], 3)).toThrow(/1 gold labels but 2 predictions/)
  })

  it('mean and sample standard deviation', () => {
    const m = meanStd([0.5, 0.7, 0.9])
    expect(m.mean).toBeCloseTo(0.7, 12)
    expect(m.std).toBeCloseTo(0.2, 12)
    expect(meanStd([0.4])).toEqual({ mean: 0.4, std: 0, n: 1 })
  })
})

describe('backward and forward transfer', () => {
  const R = [
    [0.8, 0.3, null],
    [0.7, 0.9, 0.4],
    [0.6, 0.85, 0.75]
  ]
  const baseline = [null, 0.25, 0.35]

  it('BWT = mean_j<T (R[T][j] - R[j][j]); FWT = mean_j>=1 (R[j-1][j] - b_j)', () => {
    const t = transferOf(R, baseline)
    expect(t.lastStage).toBe(2)
    expect(t.bwt).toBeCloseTo((0.6 - 0.8 + (0.85 - 0.9)) / 2, 12)
    expect(t.fwt).toBeCloseTo((0.3 - 0.25 + (0.4 - 0.35)) / 2, 12)
  })

  it('uses the last stage evaluated so far, and is undefined with one stage', () => {
    const partial = [R[0]!, R[1]!, [null, null, null]]
    const t = transferOf(partial, baseline)
    expect(t.lastStage).toBe(1)
    expect(t.bwt).toBeCloseTo(0.7 - 0.8, 12)
    expect(transferOf([[0.5]], [null])).toEqual({ bwt: null, fwt: null, lastStage: 0 })
  })
})
