// The evaluation that ranks methods: the same target tokens with and without a prompt (the prompt ablation),
// the whole validation split by default (or blocks spread over it), batched, with per-document losses.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { TransformerModel } from '../../../src/main/engine/model'
import type { RunData } from '../../../src/main/engine/training/data'
import { evaluate, evaluationSet, toLossBatch, type LossInput } from '../../../src/main/engine/training/evaluate'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import { BlockBatcher } from '../../../src/main/engine/data'
import { makeRunData, tinyConfig, useBackend } from './fixtures'

let data: RunData
beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

/** The scored target tokens of a set, in order: what the loss is an average over. */
const scoredTargets = (set: LossInput[]): number[] => set.flatMap((i) => [...i.labels].filter((l) => l >= 0))

describe('evaluation sets', () => {
  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: scores the same target tokens with and without a prompt`, () => {
      const config = tinyConfig(kind)
      const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
      const split = data.domains.get('alpha')!.validation
      const opts = { seqLen: 16, batchSize: 4, promptSlot: 0, seed: 3 }
      const withPrompt = evaluationSet(model, data.tokenizer, split, { ...opts, prompt: 'own' })
      const without = evaluationSet(model, data.tokenizer, split, { ...opts, prompt: 'off' })
      const a = scoredTargets(withPrompt)
      expect(a.length).toBeGreaterThan(kind === 'gpt' ? 100 : 10)
      expect(scoredTargets(without)).toEqual(a)
      // and each one is attributed to the same document
      expect(without.flatMap((i) => [...i.scored!.docs])).toEqual(withPrompt.flatMap((i) => [...i.scored!.docs]))
      model.dispose()
    })
  }

  it('covers the whole validation split by default, or spreads a sample over it', () => {
    const config = tinyConfig('gpt')
    const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
    const split = data.domains.get('beta')!.validation
    const batcher = new BlockBatcher(split, data.tokenizer, { style: 'gpt', seqLen: 16, promptSlot: 1, alignTargets: true })
    const all = evaluationSet(model, data.tokenizer, split, { seqLen: 16, batchSize: 4, promptSlot: 1, prompt: 'own', seed: 0 })
    expect(all.reduce((n, i) => n + i.shape[0], 0)).toBe(batcher.numBlocks)
    expect(scoredTargets(all)).toHaveLength(batcher.numBlocks * 15)
    expect(new Set(all.flatMap((i) => [...i.scored!.docs])).size).toBe(split.offsets.length - 1)
    const sample = evaluationSet(model, data.tokenizer, split, { seqLen: 16, batchSize: 4, maxSequences: 4, promptSlot: 1, prompt: 'own', seed: 0 })
    expect(sample.reduce((n, i) => n + i.shape[0], 0)).toBe(4)
    expect(batcher.spreadBlocks(4)).toEqual([0, 1, 2, 3].map((i) => Math.floor((i * batcher.numBlocks) / 4)))
    model.dispose()
  })

  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: a target-token floor takes the fewest evenly spread blocks that reach it`, () => {
      const config = tinyConfig(kind)
      const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
      const split = data.domains.get('alpha')!.validation
      const opts = { seqLen: 16, batchSize: 4, promptSlot: 0, prompt: 'own' as const, seed: 3 }
      const all = scoredTargets(evaluationSet(model, data.tokenizer, split, opts)).length
      const blocksOf = (set: LossInput[]) => set.reduce((n, i) => n + i.shape[0], 0)
      const floor = Math.floor(all / 3)
      const set = evaluationSet(model, data.tokenizer, split, { ...opts, minTokens: floor })
      const scored = scoredTargets(set).length
      expect(scored).toBeGreaterThanOrEqual(floor)
      expect(scored).toBeLessThan(all)
      // not many more blocks than needed: 15% fewer blocks, spread the same way, score barely the floor or less
      const fewer = evaluationSet(model, data.tokenizer, split, { ...opts, maxSequences: Math.floor(blocksOf(set) * 0.85) })
      expect(scoredTargets(fewer).length).toBeLessThan(floor * 1.05)
      // a floor above the split's tokens takes the whole split
      expect(scoredTargets(evaluationSet(model, data.tokenizer, split, { ...opts, minTokens: all * 10 })).length).toBe(all)
      model.dispose()
    })
  }

  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: the batched evaluation equals the per-batch loss and splits it over documents`, async () => {
      const config = tinyConfig(kind)
      const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
      const set = evaluationSet(model, data.tokenizer, data.domains.get('alpha')!.validation, { seqLen: 16, batchSize: 8, promptSlot: 0, prompt: 'own', seed: 3 })
      await evaluate(model, set, data.tokenizer.specialIds.pad) // the model caches its causal mask on first use
      const before = tf.memory().numTensors
      const r = await evaluate(model, set, data.tokenizer.specialIds.pad)
      expect(tf.memory().numTensors).toBe(before)
      let weighted = 0
      let tokens = 0
      for (const input of set) {
        const n = [...input.labels].filter((l) => l >= 0).length
        const loss = tf.tidy(() => model.loss(toLossBatch(input), { training: false }).dataSync()[0]!)
        weighted += loss * n
        tokens += n
      }
      expect(r.tokens).toBe(tokens)
      expect(r.loss).toBeCloseTo(weighted / tokens, 4)
      expect(r.docTokens!.reduce((a, b) => a + b, 0)).toBe(tokens)
      expect(r.docLoss!.reduce((a, b) => a + b, 0) / tokens).toBeCloseTo(r.loss, 4)
      model.dispose()
    })
  }
})
