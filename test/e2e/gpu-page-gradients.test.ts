// The GPU page as a gradient replica of data-parallel training (docs/webgpu.md, "Training through the GPU window"), in
// real Chromium with its own WebGPU (SwiftShader here): the page gets a model's blueprint, its trained weights and growth
// masks, and answers the gradients of weight x objective on a shard; they must be what Node computes on wasm for the
// same model, to 1e-4 (WebGPU sums in another order), for a GPT (LM loss and logit-KD's objective) and a BERT (MLM).
// Skipped when Chromium has no WebGPU adapter, unless ELLE_REQUIRE_WEBGPU=1 (CI), where that fails instead.
import * as tf from '@tensorflow/tfjs'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { distillTerms } from '../../src/main/engine/methods/distill-terms'
import { IGNORE_INDEX, maskTokens, readTensors, trainedVariables, TransformerModel, type ForwardOptions, type GrowthMasks, type LossBatch } from '../../src/main/engine/model'
import { Rng } from '../../src/main/engine/model/rng'
import { GpuGradients, type GpuRequestInput, type GpuResponse, type GpuTensor } from '../../src/shared/gpu-page'
import { backend, tinyConfig } from '../engine/model/helpers'
import { openGpuPage, sendToPage } from '../helpers/gpu-page'

const chromium = await openGpuPage()
const { unavailable } = chromium
const page: Page | null = chromium.page

/** A request without its id (the helper numbers it), op by op. */
type Call = GpuRequestInput extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

let nextId = 100
async function send(req: Call): Promise<unknown> {
  const response: GpuResponse = await sendToPage(page!, { ...req, id: nextId++ } as GpuRequestInput)
  if (!response.ok) throw new Error(response.error)
  return response.result
}

const B = 3
const T = 16

/** A shard of `kind`'s data: GPT predicts the next token (the last position has none), BERT the masked ones. */
function shardOf(kind: 'gpt' | 'bert', vocabSize: number, seed: number): { shape: [number, number]; inputIds: Int32Array; labels: Int32Array } {
  const rng = new Rng(seed)
  const ids = Int32Array.from({ length: B * T }, () => 5 + rng.int(vocabSize - 5))
  if (kind === 'bert') {
    const m = maskTokens(ids, { maskId: 3, vocabSize, protectedIds: [0, 1, 2, 3], seed, seqLen: T, maskProb: 0.3 })
    return { shape: [B, T], inputIds: m.inputIds, labels: m.labels }
  }
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX)
  for (let r = 0; r < B; r++) for (let t = 0; t + 1 < T; t++) labels[r * T + t] = ids[r * T + t + 1]!
  return { shape: [B, T], inputIds: ids, labels }
}

/** What Node computes on wasm: the gradients of weight x objective, by role, and weight x the LM loss. */
async function nodeGradients(
  model: TransformerModel,
  shard: ReturnType<typeof shardOf>,
  weight: number,
  opts: ForwardOptions,
  teacher: TransformerModel | null
): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const batch: LossBatch = { inputIds: tf.tensor2d(shard.inputIds, shard.shape, 'int32'), labels: tf.tensor2d(shard.labels, shard.shape, 'int32'), host: shard }
  const trained = trainedVariables(model)
  const roleOf = new Map([...trained].map(([role, v]) => [v.name, role]))
  let lm: tf.Scalar | null = null
  const { value, grads } = tf.variableGrads(() => {
    if (!teacher) return tf.mul(model.loss(batch, opts), weight) as tf.Scalar
    const terms = distillTerms(model, teacher, batch, opts, 0.7, 2)
    lm = tf.keep(tf.mul(terms.loss, weight) as tf.Scalar)
    return tf.mul(terms.objective, weight) as tf.Scalar
  }, [...trained.values()])
  const out = new Map<string, Float32Array>()
  for (const [name, g] of Object.entries(grads)) out.set(roleOf.get(name)!, (await g.data()) as Float32Array)
  const loss = (await ((lm as tf.Scalar | null) ?? value).data())[0]!
  tf.dispose([value, batch.inputIds, batch.labels!, ...Object.values(grads), ...(lm ? [lm] : [])])
  return { loss, grads: out }
}

function worstDifference(page: GpuGradients, node: { loss: number; grads: Map<string, Float32Array> }): number {
  expect(page.grads.map((g) => g.role).sort()).toEqual([...node.grads.keys()].sort())
  let worst = Math.abs(page.loss - node.loss)
  for (const g of page.grads) {
    const ref = node.grads.get(g.role)!
    expect(g.data.length).toBe(ref.length)
    g.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref[i]!))))
  }
  return worst
}

const tensorsOf = (weights: Awaited<ReturnType<typeof readTensors>>): GpuTensor[] => Object.entries(weights).map(([role, w]) => ({ role, shape: w.shape, data: w.data }))

describe.skipIf(Boolean(unavailable))(`the GPU page as a gradient replica${unavailable ? ` (${unavailable})` : ''}`, () => {
  beforeAll(async () => {
    await backend('wasm')
  })
  afterAll(async () => {
    await chromium.close()
  })

  it('answers gradients before a model, or on a version it does not hold, with an error naming why', async () => {
    const shard = shardOf('gpt', 64, 1)
    const ask = (version: number): Call => ({ op: 'gradients', version, shard, weight: 1, opts: {}, objective: null })
    await expect(send({ op: 'dispose' })).resolves.toEqual({})
    await expect(send(ask(1))).rejects.toThrow('no replica model: send model first')
    const model = new TransformerModel(tinyConfig('gpt', { layers: 1, heads: 2, headSize: 8, hidden: 16, ffn: 32, dropout: 0 }))
    await send({ op: 'model', blueprint: { kind: 'transformer', config: model.config, constants: [] } })
    await expect(send(ask(1))).rejects.toThrow('gradients on weights version 1, but the page holds version none')
    const weights = tensorsOf(await readTensors(trainedVariables(model)))
    await expect(send({ op: 'weights', version: 1, weights: weights.slice(1), masks: null })).rejects.toThrow(`weights: missing [${weights[0]!.role}], unknown []`)
    await send({ op: 'weights', version: 2, weights, masks: null })
    await expect(send(ask(1))).rejects.toThrow('gradients on weights version 1, but the page holds version 2')
    model.dispose()
  })

  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: the page's gradients of a shard (synced weights, growth masks${kind === 'gpt' ? ', and logit-KD with its teacher' : ''}) are Node's on wasm to 1e-4, with no tensor growth`, async () => {
      const cfg = tinyConfig(kind, { layers: 2, heads: 2, headSize: 8, hidden: 16, ffn: 32, dropout: 0 })
      // seeded unlike the page's own initialisation (seed 0), so the gradients depend on the weights sent
      const model = new TransformerModel(cfg, { seed: 11 })
      const masks: GrowthMasks = { hidden: Float32Array.from({ length: 16 }, (_, i) => (i < 12 ? 1 : 0.25)), layerGates: [null, 0.5] }
      model.setGrowthMasks(masks)
      const blueprint = await model.replicaBlueprint()
      const init = (await send({ op: 'model', blueprint: { kind: blueprint.kind, config: blueprint.config, constants: [] } })) as { backend: string }
      expect(init.backend).toBe('webgpu')
      await send({ op: 'weights', version: 1, weights: tensorsOf(await readTensors(trainedVariables(model))), masks })
      const opts: ForwardOptions = { training: true, seed: 5, padId: 0 }
      const shard = shardOf(kind, cfg.vocabSize, 3)
      const weight = 0.375

      const tensors: number[] = []
      for (let i = 0; i < 3; i++) {
        const got = GpuGradients.parse(await send({ op: 'gradients', version: 1, shard, weight, opts, objective: null }))
        tensors.push(got.tensors)
        expect(got.grads.length).toBeGreaterThan(0)
        expect(worstDifference(got, await nodeGradients(model, shard, weight, opts, null))).toBeLessThan(1e-4)
      }

      // the next update's weights (a new version): the gradients follow them
      const moved = await readTensors(trainedVariables(model))
      for (const w of Object.values(moved)) for (let i = 0; i < w.data.length; i++) w.data[i] = w.data[i]! * 0.9 + 0.001 * Math.sin(i)
      model.setWeights(Object.fromEntries(Object.entries(moved).filter(([role]) => model.params.has(role))))
      await send({ op: 'weights', version: 2, weights: tensorsOf(moved), masks })
      const after = GpuGradients.parse(await send({ op: 'gradients', version: 2, shard, weight, opts, objective: null }))
      tensors.push(after.tensors)
      expect(worstDifference(after, await nodeGradients(model, shard, weight, opts, null))).toBeLessThan(1e-4)

      if (kind === 'gpt') {
        // logit-KD: the teacher (the model as the previous stage ended) goes to the page once; its objective's gradients
        const teacher = new TransformerModel(cfg, { seed: 12 })
        await send({ op: 'teacher', teacher: { config: cfg, weights: tensorsOf(await teacher.readWeights()) } })
        const objective = { kind: 'distill' as const, alpha: 0.7, temperature: 2 }
        for (let i = 0; i < 2; i++) {
          const kd = GpuGradients.parse(await send({ op: 'gradients', version: 2, shard, weight, opts, objective }))
          expect(worstDifference(kd, await nodeGradients(model, shard, weight, opts, teacher))).toBeLessThan(1e-4)
          // the reported loss is the LM loss, not the objective
          expect(Math.abs(kd.loss - after.loss)).toBeLessThan(1e-4)
          tensors.push(kd.tensors)
        }
        expect(tensors.at(-1)).toBe(tensors.at(-2))
        teacher.dispose()
      }
      // no tensor growth over repeated calls (nor across a weights version)
      expect(tensors[1]).toBe(tensors[0])
      expect(tensors[2]).toBe(tensors[0])
      expect(tensors[3]).toBe(tensors[0])
      model.dispose()
    })
  }
})
