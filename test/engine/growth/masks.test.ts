// Growth masks in the model: the masked LayerNorm and its gradient, m = 1 equals no masks, the ramp,
// and training with masks on (gradients, no leaked tensors).
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { advanceRamp, applyGrowthState, growModel, growthMasks, maskedLayerNorm, rampMasks } from '../../../src/main/engine/growth'
import { useBackend } from '../../../src/main/engine/model/backend'
import { layerNorm } from '../../../src/main/engine/model/ops'
import { TransformerModel } from '../../../src/main/engine/model/model'
import { Trainer } from '../../../src/main/engine/model/train'
import { logitAgreement, logitsOf, promptBatch, randomWeights, smallConfig } from './helpers'

beforeAll(() => useBackend('wasm'))

/** Plain formula, differentiated by tfjs autodiff: the reference for the hand-written gradient. */
function reference(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const mean = tf.sum(tf.mul(x, w), -1, true)
  const xc = tf.sub(x, mean)
  const v = tf.sum(tf.mul(tf.square(xc), w), -1, true)
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(v, 1e-5))), g), b)
}

describe('maskedLayerNorm', () => {
  it('matches the plain formula, value and gradients, with fractional and zero weights', () => {
    const n = 5
    const d = 7
    const x = tf.randomNormal([n, d], 0, 2, 'float32', 1)
    const g = tf.randomNormal([d], 1, 0.3, 'float32', 2)
    const b = tf.randomNormal([d], 0, 0.3, 'float32', 3)
    const mask = tf.tensor1d([1, 1, 1, 1, 0.5, 0, 0])
    const w = tf.div(mask, tf.sum(mask))
    const up = tf.randomNormal([n, d], 0, 1, 'float32', 4)
    const loss = (f: typeof reference) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, gg, bb, w), up))
    const ours = tf.grads(loss(maskedLayerNorm))([x, g, b])
    const ref = tf.grads(loss(reference))([x, g, b])
    const diff = (p: tf.Tensor, q: tf.Tensor): number => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]!
    expect(diff(maskedLayerNorm(x, g, b, w), reference(x, g, b, w))).toBeLessThan(1e-5)
    ours.forEach((t, i) => expect(diff(t, ref[i]!)).toBeLessThan(1e-4))
    // Uniform weights: the plain LayerNorm.
    const uniform = tf.fill([d], 1 / d)
    expect(diff(maskedLayerNorm(x, g, b, uniform), layerNorm(x, g, b))).toBeLessThan(1e-5)
    tf.dispose([x, g, b, mask, w, up, uniform, ...ours, ...ref])
  })
})

describe('growth masks in the model', () => {
  // Non-integer width (3 -> 4 heads) and depth on BERT: hidden mask and layer gates both present.
  const cfg = smallConfig('bert', 3)
  const weights = randomWeights(cfg, 7)
  const grown = growModel(cfg, weights, { addLayers: 1, addHeads: 1, mode: 'exact', seed: 2 })

  it('at m = 1 equal the model without masks, so they can be dropped after the ramp', () => {
    const ids = promptBatch(cfg)
    const ones = growthMasks({ ...grown.state, ramp: { ...grown.state.ramp!, progress: 1 } }, grown.config)!
    expect(ones.hidden!.every((m) => m === 1)).toBe(true)
    expect(ones.layerGates.filter((m) => m !== null)).toEqual([1])
    const masked = logitsOf(grown.config, grown.weights, ids, ones)
    const plain = logitsOf(grown.config, grown.weights, ids, null)
    const half = logitsOf(grown.config, grown.weights, ids, growthMasks(rampMasks(grown.state, 0.5), grown.config))
    ids.dispose()
    expect(logitAgreement(plain, masked, cfg.vocabSize).maxRelErr).toBeLessThan(1e-5)
    expect(logitAgreement(plain, half, cfg.vocabSize).maxRelErr).toBeGreaterThan(1e-3)
  })

  it('ramp: progress moves by steps / ramp.steps and the masks go away at 1', () => {
    let s = grown.state
    expect(s.ramp).toMatchObject({ hiddenFrom: 24, gatedLayers: [expect.any(Number)], progress: 0, steps: 1000 })
    s = advanceRamp(s, 250)
    expect(s.ramp!.progress).toBeCloseTo(0.25)
    expect(growthMasks(s, grown.config)!.hidden![30]).toBeCloseTo(0.25)
    expect(growthMasks(s, grown.config)!.hidden![3]).toBe(1)
    s = advanceRamp(s, 750)
    expect(s.ramp).toBeNull()
    expect(growthMasks(s, grown.config)).toBeNull()
    const model = new TransformerModel(grown.config)
    applyGrowthState(model, grown.state)
    expect(model.getGrowthMasks()!.hidden![30]).toBe(0)
    applyGrowthState(model, s)
    expect(model.getGrowthMasks()).toBeNull()
    model.dispose()
  })

  it('a training step with masks on updates the new units and leaks no tensors', async () => {
    const model = new TransformerModel(grown.config)
    model.setWeights(grown.weights)
    const trainer = new Trainer(model, { schedule: { peak: 1e-3, warmupSteps: 1, totalSteps: 100 } })
    const ids = promptBatch(cfg)
    const labels = tf.tensor2d(
      Int32Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 5 + (i % 7) : -100)),
      [2, 12],
      'int32'
    )
    applyGrowthState(model, rampMasks(grown.state, 0.3))
    await trainer.trainStep([{ inputIds: ids, labels }]) // first step creates the optimizer's lazily kept tensors, if any
    const before = tf.memory().numTensors
    for (let s = 0; s < 3; s++) {
      applyGrowthState(model, advanceRamp(rampMasks(grown.state, 0.3), s + 1))
      const r = await trainer.trainStep([{ inputIds: ids, labels }])
      expect(Number.isFinite(r.loss)).toBe(true)
    }
    expect(tf.memory().numTensors).toBe(before)
    // New input rows started at zero and moved: gradients reach the new units through the mask.
    const q = (await model.readWeights())['layers.0.attn.q.kernel']!
    const d = grown.config.hidden
    const newRow = q.data.subarray(30 * d, 31 * d)
    expect(newRow.some((v) => v !== 0)).toBe(true)
    expect(grown.weights['layers.0.attn.q.kernel']!.data.subarray(30 * d, 31 * d).every((v) => v === 0)).toBe(true)
    tf.dispose([ids, labels])
    trainer.dispose()
    model.dispose()
  })

  it('setGrowthMasks rejects masks that do not fit the model', () => {
    const model = new TransformerModel(grown.config)
    expect(() => model.setGrowthMasks({ hidden: new Float32Array(3), layerGates: [null, null, null] })).toThrow(/hidden mask has 3 units/)
    expect(() => model.setGrowthMasks({ hidden: null, layerGates: [null] })).toThrow(/1 layer gates, expected 3/)
    expect(() => model.setGrowthMasks({ hidden: null, layerGates: [2, null, null] })).toThrow(/\[0, 1\]/)
    model.dispose()
  })
})
