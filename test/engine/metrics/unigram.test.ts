import { describe, expect, it } from 'vitest'
import { unigramLogProbs, unigramPerplexity } from '../../../src/main/engine/metrics/unigram'

describe('the unigram floor', () => {
  it('is add-one smoothed and normalised', () => {
    const lp = unigramLogProbs([0, 0, 0, 1], 3)
    // counts 3,1,0 → (4, 2, 1) / 7
    expect([...lp].map(Math.exp)).toEqual([4 / 7, 2 / 7, 1 / 7].map((p) => expect.closeTo(p, 12)))
    expect([...lp].reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 12)
  })

  it('is the exp of the mean negative log-probability of the targets', () => {
    const lp = unigramLogProbs([0, 0, 0, 1], 3)
    expect(unigramPerplexity(lp, [0, 1])).toBeCloseTo(Math.exp(-(Math.log(4 / 7) + Math.log(2 / 7)) / 2), 10)
    // a uniform text gives the vocabulary size
    expect(unigramPerplexity(unigramLogProbs([0, 1, 2, 3], 4), [0, 1, 2, 3, 3])).toBeCloseTo(4, 10)
  })

  it('names ids outside the vocabulary', () => {
    expect(() => unigramLogProbs([5], 3)).toThrow(/token id 5 outside the vocabulary/)
    expect(() => unigramPerplexity(unigramLogProbs([0], 3), [7])).toThrow(/target id 7/)
    expect(unigramPerplexity(unigramLogProbs([0], 3), [])).toBeNaN()
  })
})
