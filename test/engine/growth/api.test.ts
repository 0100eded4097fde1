// growModel's contract: spec validation, no-op growth, the optimizer moments, the serialisable state.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { applyGrowthState, growModel, growOptimizerState, growthStateToJson, initialGrowthState, parseGrowthState, rampMasks } from '../../../src/main/engine/growth'
import { useBackend } from '../../../src/main/engine/model/backend'
import { parameterShapes, TransformerModel } from '../../../src/main/engine/model/model'
import { AdamW } from '../../../src/main/engine/model/optim'
import { randomWeights, smallConfig } from './helpers'

beforeAll(() => useBackend('wasm'))

describe('growModel spec', () => {
  const cfg = smallConfig('gpt', 2)
  const w = randomWeights(cfg, 1)

  it('rejects shrinking, bad modes, noise in exact mode and weights that do not fit', () => {
    expect(() => growModel(cfg, w, { addLayers: -1, addHeads: 0, mode: 'exact', seed: 1 })).toThrow(/addLayers is -1: growth cannot shrink/)
    expect(() => growModel(cfg, w, { addLayers: 0, addHeads: -2, mode: 'exact', seed: 1 })).toThrow(/addHeads is -2/)
    expect(() => growModel(cfg, w, { addLayers: 0, addHeads: 0, addFfn: -4, mode: 'exact', seed: 1 })).toThrow(/addFfn is -4/)
    expect(() => growModel(cfg, w, { addLayers: 1.5, addHeads: 0, mode: 'exact', seed: 1 })).toThrow(/addLayers must be an integer/)
    expect(() => growModel(cfg, w, { addLayers: 0, addHeads: 0, mode: 'fast' as 'exact', seed: 1 })).toThrow(/mode must be/)
    expect(() => growModel(cfg, w, { addLayers: 0, addHeads: 1, mode: 'exact', seed: 1, noise: 0.01 })).toThrow(/exact mode is function preserving/)
    expect(() => growModel(cfg, w, { addLayers: 0, addHeads: 1, mode: 'elle', seed: 1, noise: -1 })).toThrow(/noise must be/)
    const { 'final.ln.beta': _, ...partial } = w
    expect(() => growModel(cfg, partial, { addLayers: 0, addHeads: 1, mode: 'exact', seed: 1 })).toThrow(/missing \[final.ln.beta\]/)
  })

  it('zero-change growth returns the same weights (both modes, noise off)', () => {
    for (const mode of ['exact', 'elle'] as const) {
      const g = growModel(cfg, w, { addLayers: 0, addHeads: 0, mode, seed: 1, noise: 0 })
      expect(g.config).toEqual(cfg)
      expect(g.weights).toEqual(w)
      expect(g.masks).toBeNull()
      expect(g.state.history).toHaveLength(1)
    }
  })

  it('keeps hidden = heads * headSize and the ffn/hidden ratio unless addFfn is given', () => {
    const g = growModel(cfg, w, { addLayers: 0, addHeads: 1, mode: 'exact', seed: 1 })
    expect(g.config).toMatchObject({ heads: 3, headSize: 8, hidden: 24, ffn: 96 })
    const odd = growModel({ ...cfg, ffn: 50 }, randomWeights({ ...cfg, ffn: 50 }, 2), { addLayers: 0, addHeads: 1, mode: 'exact', seed: 1 })
    expect(odd.config.ffn).toBe(75)
    for (const [name, shape] of parameterShapes(g.config)) expect(g.weights[name]!.shape).toEqual(shape)
  })

  it('refuses to grow while a previous ramp is unfinished, and grows again once it is done', () => {
    const g = growModel(cfg, w, { addLayers: 1, addHeads: 1, mode: 'exact', seed: 1 })
    expect(g.state.ramp?.hiddenFrom).toBe(16)
    expect(() => growModel(g.config, g.weights, { addLayers: 1, addHeads: 0, mode: 'exact', seed: 2, state: g.state })).toThrow(/still ramping/)
    const done = rampMasks(g.state, 1)
    const again = growModel(g.config, g.weights, { addLayers: 1, addHeads: 0, mode: 'exact', seed: 2, state: done })
    expect(again.config.layers).toBe(4)
    expect(again.state.history).toHaveLength(2)
  })
})

describe('growOptimizerState', () => {
  it('grows m and v to the new shapes, zero where the weights start at zero; AdamW accepts the result', async () => {
    const cfg = smallConfig('gpt', 3)
    const model = new TransformerModel(cfg)
    model.setWeights(randomWeights(cfg, 3))
    const opt = new AdamW(model.params)
    const state = await opt.readState()
    for (const x of [...Object.values(state.m), ...Object.values(state.v)]) x.data.fill(0.5)
    state.step = 17
    const g = growModel(cfg, await model.readWeights(), { addLayers: 2, addHeads: 1, mode: 'exact', seed: 5 })
    const grown = growOptimizerState(state, g.maps)
    expect(grown.step).toBe(17)
    for (const [name, shape] of parameterShapes(g.config)) {
      expect(grown.m[name]!.shape).toEqual(shape)
      expect(grown.v[name]!.shape).toEqual(shape)
    }
    // Identity-initialised inserted layer (pre-LN): zero output projection, zero moments there.
    const k = g.maps.inserted.indexOf(true)
    expect(g.weights[`layers.${k}.attn.o.kernel`]!.data.every((v) => v === 0)).toBe(true)
    expect(grown.m[`layers.${k}.attn.o.kernel`]!.data.every((v) => v === 0)).toBe(true)
    // Masked width: new input rows are zero in weights and moments; old rows keep their moments.
    const q = grown.m['layers.0.attn.q.kernel']!
    expect(q.data.subarray(0, 24 * 32).every((v) => v === 0.5)).toBe(true)
    expect(q.data.subarray(24 * 32).every((v) => v === 0)).toBe(true)
    const big = new TransformerModel(g.config)
    const opt2 = new AdamW(big.params)
    opt2.setState(grown)
    expect(opt2.step).toBe(17)
    for (const o of [opt, opt2]) o.dispose()
    for (const m of [model, big]) m.dispose()
    expect(() => growOptimizerState({ ...state, m: {} }, g.maps)).toThrow(/optimizer m do not match/)
  })
})

describe('growth state', () => {
  it('round-trips through JSON, is validated against the model and restores the masks', () => {
    const cfg = smallConfig('bert', 3)
    const g = growModel(cfg, randomWeights(cfg, 4), { addLayers: 1, addHeads: 1, mode: 'exact', seed: 6, rampSteps: 40 })
    const json = JSON.parse(JSON.stringify(growthStateToJson(rampMasks(g.state, 0.25)))) as unknown
    const back = parseGrowthState(json, g.config)
    expect(back.ramp).toMatchObject({ hiddenFrom: 24, progress: 0.25, steps: 40 })
    expect(back.layerIds).toEqual(g.state.layerIds)
    const model = new TransformerModel(g.config)
    const before = tf.memory().numTensors
    applyGrowthState(model, back)
    applyGrowthState(model, back)
    expect(tf.memory().numTensors).toBe(before + 2) // the mask and its LayerNorm weights, replaced, not added
    expect(model.getGrowthMasks()!.layerGates.filter((m) => m !== null)).toEqual([0.25])
    model.dispose()
    expect(() => parseGrowthState({ ...(json as object), version: 9 })).toThrow(/unsupported version 9/)
    expect(() => parseGrowthState(json, smallConfig('bert', 3))).toThrow(/3 layer ids for a 2-layer model/)
    expect(parseGrowthState(growthStateToJson(initialGrowthState(cfg)), cfg).ramp).toBeNull()
  })
})
