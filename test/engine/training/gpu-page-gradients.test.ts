// Training through the GPU page's protocol (training/gpu-page-gradients.ts), with the page's own GpuSession on wasm
// in Node as its far end (requests and answers structured-cloned, as through a MessagePort): the coordinator computes
// no shard, the session every micro-batch, and every method runs as in one thread — EWC's penalty on the coordinator,
// A-GEM's projection of the summed gradient, logit-KD's teacher in the page, PNN's columns rebuilt there, ELLE's growth
// with its masks. Same backend on both sides, so the losses are the one-thread run's to float rounding. (The real page
// on Chromium's WebGPU: test/e2e/gpu-page-training.test.ts.)
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { GpuSession } from '../../../src/main/engine/backend/gpu-page/session'
import { methodPlugins } from '../../../src/main/engine/methods/registry'
import { PnnModel } from '../../../src/main/engine/methods/pnn-model'
import { TransformerModel, type Weights } from '../../../src/main/engine/model'
import type { RunConfig } from '../../../src/main/engine/training/config'
import type { RunData } from '../../../src/main/engine/training/data'
import { GpuPageGradients, type GpuPageTransport } from '../../../src/main/engine/training/gpu-page-gradients'
import { TrainingLoop, type StepRecord, type TrainingPlugin } from '../../../src/main/engine/training/loop'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import { makeRunData, tinyConfig, useBackend } from './fixtures'

/** The page's session on this thread's backend, reached as through a port: every message cloned. */
function sessionTransport(session: GpuSession): GpuPageTransport {
  let id = 1
  return {
    async request(call) {
      const response = structuredClone(await session.handle(structuredClone({ ...call, id: id++ })))
      if (!response.ok) throw new Error(response.error)
      return response.result
    }
  }
}

let data: RunData

beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
}, 60_000)

async function train(config: RunConfig, gpu: GpuPageGradients | null): Promise<{ losses: number[]; tensors: number[]; weights: Weights }> {
  const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 3 })
  const losses: number[] = []
  const tensors: number[] = []
  const recorder: TrainingPlugin = {
    name: 'recorder',
    afterStep: (_ctx, r: StepRecord) => {
      losses.push(r.loss)
      tensors.push(tf.memory().numTensors)
    }
  }
  const loop = new TrainingLoop({ config, model, data, plugins: [...methodPlugins(config), recorder], shards: gpu })
  try {
    expect(await loop.run()).toBe(true)
    const weights = { ...(await loop.model.readWeights()), ...(loop.model instanceof PnnModel ? await loop.model.lateralWeights() : {}) }
    return { losses, tensors, weights }
  } finally {
    loop.dispose()
    loop.model.dispose()
  }
}

async function expectEqualRuns(config: RunConfig): Promise<GpuPageGradients> {
  const one = await train(config, null)
  const session = new GpuSession(async () => ({ vendor: '', architecture: '', device: '', description: 'wasm (in Node)', software: true }))
  const gpu = new GpuPageGradients(sessionTransport(session))
  const paged = await train(config, gpu)
  expect(paged.losses.length).toBe(one.losses.length)
  paged.losses.forEach((loss, i) => expect(Math.abs(loss - one.losses[i]!), `update ${i + 1}: ${loss} vs ${one.losses[i]}`).toBeLessThan(1e-5 * Math.max(1, one.losses[i]!)))
  expect(Object.keys(paged.weights).sort()).toEqual(Object.keys(one.weights).sort())
  let worst = 0
  for (const [role, w] of Object.entries(one.weights)) w.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - paged.weights[role]!.data[i]!))))
  expect(worst).toBeLessThan(1e-5)
  // every micro-batch went to the session, and nothing grows over the last updates (the session shares this thread's tensors)
  expect(gpu.shardsComputed).toBeGreaterThanOrEqual(paged.losses.length)
  expect(paged.tensors.at(-1)).toBe(paged.tensors.at(-3))
  session.dispose()
  return gpu
}

describe('training through the GPU page protocol (the page session on wasm)', () => {
  it('BERT with EWC and replay, 2 micro-batches: the session computes every micro-batch, the penalty stays here', async () => {
    const config = tinyConfig('bert', {
      method: { name: 'ewc' },
      replay: { ratio: 0.5, weights: 'uniform' },
      training: { seqLen: 16, batchSize: 4, accumulation: 2, lr: 3e-3, validateEvery: 10, validationSequences: 8, checkpointEvery: 1000, seed: 7 },
      stages: [
        { domain: 'alpha', steps: 4 },
        { domain: 'beta', steps: 4 }
      ]
    } as never)
    const gpu = await expectEqualRuns(config)
    expect(gpu.shardsComputed).toBe(16)
  }, 120_000)

  it('GPT with A-GEM and replay', async () => {
    const config = tinyConfig('gpt', {
      method: { name: 'agem' },
      replay: { ratio: 0.5, weights: 'uniform' },
      stages: [
        { domain: 'alpha', steps: 4 },
        { domain: 'beta', steps: 4 }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)

  it('GPT with logit-KD: the teacher goes to the session, which computes the distillation objective', async () => {
    const config = tinyConfig('gpt', {
      method: { name: 'logit-kd', alpha: 0.9, temperature: 2 },
      stages: [
        { domain: 'alpha', steps: 3 },
        { domain: 'beta', steps: 4 }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)

  it('GPT, ELLE growth with masks and a warm-up, across the growth stage (the session rebuilds the grown model)', async () => {
    const config = tinyConfig('gpt', {
      model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8, dropout: 0 },
      growth: { mode: 'exact', noise: 0, globalNoise: false, optimizer: 'grow', rampSteps: 4 },
      stages: [
        { domain: 'alpha', steps: 4 },
        { domain: 'beta', steps: 6, frwSteps: 2, grow: { layers: 1, heads: 1 } }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)

  it('GPT with PNN: the session rebuilds the frozen columns; the laterals train through it', async () => {
    const config = tinyConfig('gpt', {
      method: { name: 'pnn' },
      stages: [
        { domain: 'alpha', steps: 3 },
        { domain: 'beta', steps: 3 }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)
})
