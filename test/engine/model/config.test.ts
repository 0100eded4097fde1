import { describe, expect, it } from 'vitest'
import { type ModelConfig, makeModelConfig, nonEmbeddingParams, trainingFlopsPerToken, validateModelConfig } from '../../../src/main/engine/model/config'
import { tinyConfig } from './helpers'

describe('validateModelConfig', () => {
  const ok = tinyConfig('bert')
  const bad =
    (over: Partial<ModelConfig>, opts = {}): (() => void) =>
    () =>
      validateModelConfig({ ...ok, ...over }, opts)

  it('accepts a consistent config', () => {
    expect(validateModelConfig(ok, { specialTokens: 8 })).toEqual(ok)
  })
  it('names the field of each error', () => {
    expect(bad({ hidden: 33 })).toThrow(/ModelConfig\.hidden: 33 is not divisible by heads/)
    expect(bad({ hidden: 64 })).toThrow(/ModelConfig\.hidden: 64 != heads \* headSize/)
    expect(bad({ layers: 0 })).toThrow(/ModelConfig\.layers: must be a positive integer/)
    expect(bad({ ffn: -4 })).toThrow(/ModelConfig\.ffn/)
    expect(bad({ maxLength: 2.5 })).toThrow(/ModelConfig\.maxLength/)
    expect(bad({ dropout: 1 })).toThrow(/ModelConfig\.dropout/)
    expect(bad({ norm: 'mid' as 'pre' })).toThrow(/ModelConfig\.norm/)
    expect(bad({ kind: 't5' as 'gpt' })).toThrow(/ModelConfig\.kind/)
    expect(bad({ vocabSize: 8 }, { specialTokens: 8 })).toThrow(/ModelConfig\.vocabSize: 8 leaves no room .* 8 special tokens/)
  })
  it('makeModelConfig picks BERT post-LN and GPT pre-LN', () => {
    expect(makeModelConfig('bert', { layers: 1, heads: 2, headSize: 8, vocabSize: 10, maxLength: 4 })).toMatchObject({ hidden: 16, ffn: 64, norm: 'post' })
    expect(makeModelConfig('gpt', { layers: 1, heads: 2, headSize: 8, vocabSize: 10, maxLength: 4 }).norm).toBe('pre')
  })
})

describe('trainingFlopsPerToken', () => {
  it('is 6N + output projection + attention for the reference GPT shape', () => {
    const cfg = makeModelConfig('gpt', { layers: 4, heads: 4, headSize: 64, vocabSize: 8000, maxLength: 128 })
    const d = 256
    // blocks: 4 x (4 (d^2 + d) + 2 d*4d + 4d + d + 4d)
    expect(nonEmbeddingParams(cfg)).toBe(4 * (4 * (d * d + d) + 8 * d * d + 5 * d + 4 * d))
    expect(trainingFlopsPerToken(cfg)).toBe(6 * nonEmbeddingParams(cfg) + 6 * d * 8000 + 12 * 4 * 128 * d)
  })
  it('counts the BERT head only on masked positions', () => {
    const cfg = makeModelConfig('bert', { layers: 4, heads: 4, headSize: 64, vocabSize: 8000, maxLength: 128 })
    expect(trainingFlopsPerToken(cfg, 128, 0.15)).toBeCloseTo(6 * nonEmbeddingParams(cfg) + 6 * (256 * 8000 + 256 * 256) * 0.15 + 12 * 4 * 128 * 256)
    expect(trainingFlopsPerToken(cfg, 128, 1)).toBeGreaterThan(trainingFlopsPerToken(cfg, 128, 0.15))
  })
})
