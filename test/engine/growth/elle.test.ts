// elle mode: the reference's random maps and noise. Not exact, but close: the KL of the next-token
// distributions after growth stays under a bound measured on small trained models (docs/elle.md).
import { beforeAll, describe, expect, it } from 'vitest'
import { growModel } from '../../../src/main/engine/growth'
import { useBackend } from '../../../src/main/engine/model/backend'
import type { ModelConfig, ModelKind } from '../../../src/main/engine/model/config'
import type { Weights } from '../../../src/main/engine/model/model'
import { logitAgreement, logitsOf, promptBatch, smallConfig, trainedWeights } from './helpers'

beforeAll(() => useBackend('wasm'))

// Measured (docs/elle.md, seeds 1-5, trained L4 H3 d24 models): width +1 head KL <= 0.011,
// +1 head +2 layers KL <= 0.15. The bounds leave about 3x margin.
const WIDTH_KL_BOUND = 0.04
const WIDTH_DEPTH_KL_BOUND = 0.4

describe.each(['bert', 'gpt'] as ModelKind[])('elle growth, %s', (kind) => {
  let cfg: ModelConfig
  let weights: Weights
  let before: Float32Array
  beforeAll(async () => {
    cfg = smallConfig(kind, 3, 4)
    weights = await trainedWeights(cfg, 80)
    const ids = promptBatch(cfg)
    before = logitsOf(cfg, weights, ids)
    ids.dispose()
  })
  const after = (g: ReturnType<typeof growModel>): Float32Array => {
    const ids = promptBatch(cfg)
    const out = logitsOf(g.config, g.weights, ids, g.masks)
    ids.dispose()
    return out
  }

  it('noise 0 and noise > 0 give different weights and logits; the same seed gives the same model', () => {
    const quiet = growModel(cfg, weights, { addLayers: 1, addHeads: 1, mode: 'elle', seed: 4, noise: 0 })
    const noisy = growModel(cfg, weights, { addLayers: 1, addHeads: 1, mode: 'elle', seed: 4 })
    const again = growModel(cfg, weights, { addLayers: 1, addHeads: 1, mode: 'elle', seed: 4 })
    expect(quiet.masks).toBeNull()
    expect(noisy.weights).toEqual(again.weights)
    expect(noisy.weights['layers.0.attn.q.kernel']!.data).not.toEqual(quiet.weights['layers.0.attn.q.kernel']!.data)
    expect(logitAgreement(after(quiet), after(noisy), cfg.vocabSize).maxRelErr).toBeGreaterThan(1e-4)
    // Global noise (ii): on by default for BERT only, as in the reference; it touches every tensor.
    const lnChanged = noisy.weights['layers.0.ln1.gamma']!.data.subarray(0, 24).some((v, i) => v !== weights['layers.0.ln1.gamma']!.data[i])
    expect(lnChanged).toBe(kind === 'bert')
  })

  it.each([1, 2, 3])(`KL(before || after) stays under the measured bounds (seed %i)`, (seed) => {
    const width = logitAgreement(before, after(growModel(cfg, weights, { addLayers: 0, addHeads: 1, mode: 'elle', seed })), cfg.vocabSize)
    const both = logitAgreement(before, after(growModel(cfg, weights, { addLayers: 2, addHeads: 1, mode: 'elle', seed })), cfg.vocabSize)
    expect(width.kl).toBeLessThan(WIDTH_KL_BOUND)
    expect(both.kl).toBeLessThan(WIDTH_DEPTH_KL_BOUND)
    expect(width.kl).toBeGreaterThan(0) // not accidentally exact
  })

  it('draws maps with replacement and copies layers without gates or zeroing', () => {
    const g = growModel(cfg, weights, { addLayers: 2, addHeads: 3, mode: 'elle', seed: 7, noise: 0 })
    expect(g.maps.hiddenScheme).toBe('fpi')
    expect(g.maps.depthInit).toBe('copy')
    expect(g.state.ramp).toBeNull()
    // Inserted copies equal their (width-grown) source up to the per-layer head/FFN maps: the o-projection is not zero.
    const k = g.maps.inserted.indexOf(true)
    expect(g.weights[`layers.${k}.attn.o.kernel`]!.data.some((v) => v !== 0)).toBe(true)
    // 24 -> 48 hidden with replacement: some unit is (almost surely) copied more than twice or not at all.
    const counts = new Map<number, number>()
    for (const s of g.maps.hidden) counts.set(s, (counts.get(s) ?? 0) + 1)
    expect(new Set(counts.values()).size).toBeGreaterThan(1)
  })
})
