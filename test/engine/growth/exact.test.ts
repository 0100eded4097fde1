// exact mode: the grown model computes the same logits (float32 tolerance) for BERT and GPT, width,
// depth and both, integer and non-integer width ratios, with and without a domain prompt.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { growModel } from '../../../src/main/engine/growth'
import { useBackend } from '../../../src/main/engine/model/backend'
import type { ModelKind } from '../../../src/main/engine/model/config'
import { logitAgreement, logitsOf, promptBatch, randomWeights, smallConfig } from './helpers'

beforeAll(() => useBackend('wasm'))
let tensorsAtStart = 0
beforeAll(() => {
  tensorsAtStart = tf.memory().numTensors
})
afterAll(() => {
  expect(tf.memory().numTensors).toBe(tensorsAtStart)
})

const cases: Array<{ what: string; addLayers: number; addHeads: number }> = []
for (const [ratio, heads] of [
  ['integer', 2],
  ['non-integer', 3]
] as const) {
  const addHeads = ratio === 'integer' ? 2 : 1 // 2 -> 4 heads (x2), 3 -> 4 heads (x4/3)
  cases.push({ what: `width ${heads}->${heads + addHeads} heads`, addLayers: 0, addHeads })
  cases.push({ what: `depth +2 layers (${heads} heads)`, addLayers: 2, addHeads: 0 })
  cases.push({ what: `width ${heads}->${heads + addHeads} heads + depth +2 layers`, addLayers: 2, addHeads })
}

describe.each(['bert', 'gpt'] as ModelKind[])('exact growth, %s', (kind) => {
  it.each(cases)('$what preserves the logits', ({ addLayers, addHeads, what }) => {
    const heads = Number(/(\d+) heads|(\d+)->/.exec(what)!.slice(1).find(Boolean))
    const cfg = smallConfig(kind, heads)
    const weights = randomWeights(cfg, 11)
    const ids = promptBatch(cfg)
    const before = logitsOf(cfg, weights, ids)
    const g = growModel(cfg, weights, { addLayers, addHeads, mode: 'exact', seed: 3 })
    expect(g.config.layers).toBe(cfg.layers + addLayers)
    expect(g.config.hidden).toBe((heads + addHeads) * cfg.headSize)
    expect(g.config.ffn).toBe(4 * g.config.hidden)
    const after = logitsOf(g.config, g.weights, ids, g.masks)
    ids.dispose()
    const a = logitAgreement(before, after, cfg.vocabSize)
    expect(a.maxRelErr).toBeLessThan(1e-4)
    expect(a.top1).toBe(1)
    // Masks only where the scheme needs them: non-integer width, post-LN depth.
    const nonInteger = addHeads > 0 && (heads + addHeads) % heads !== 0
    expect(g.masks?.hidden != null).toBe(nonInteger)
    expect(g.masks?.layerGates.some((m) => m !== null) ?? false).toBe(kind === 'bert' && addLayers > 0)
  })
})

it('exact growth with an explicit FFN size is still exact', () => {
  const cfg = smallConfig('gpt', 2)
  const weights = randomWeights(cfg, 2)
  const ids = promptBatch(cfg)
  const g = growModel(cfg, weights, { addLayers: 1, addHeads: 1, addFfn: 7, mode: 'exact', seed: 1 })
  expect(g.config.ffn).toBe(cfg.ffn + 7)
  const a = logitAgreement(logitsOf(cfg, weights, ids), logitsOf(g.config, g.weights, ids, g.masks), cfg.vocabSize)
  ids.dispose()
  expect(a.maxRelErr).toBeLessThan(1e-4)
})
