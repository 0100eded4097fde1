// Training through the GPU page (training/gpu-page-gradients.ts): the run's loop in Node stays the coordinator (model,
// optimizer, validation, plugins) and the page in real Chromium, on its own WebGPU (SwiftShader here), computes every
// micro-batch's gradients; the transport is a relay from Node to the page's MessagePort through playwright. The runs
// must give the one-thread wasm run's losses to 1e-4 (WebGPU sums in another order), with the coordinator computing
// no shard of its own; a page that fails (an error answer, a closed page) fails the run naming the GPU window.
// Skipped when Chromium has no WebGPU adapter, unless ELLE_REQUIRE_WEBGPU=1 (CI), where that fails instead.
import * as tf from '@tensorflow/tfjs'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methodPlugins } from '../../src/main/engine/methods/registry'
import { TransformerModel, type Weights } from '../../src/main/engine/model'
import type { RunConfig } from '../../src/main/engine/training/config'
import type { RunData } from '../../src/main/engine/training/data'
import { GpuPageGradients, type GpuPageTransport } from '../../src/main/engine/training/gpu-page-gradients'
import { TrainingLoop, type StepRecord, type TrainingContext, type TrainingPlugin } from '../../src/main/engine/training/loop'
import { modelConfigFor } from '../../src/main/engine/training/run'
import type { GpuRequestInput } from '../../src/shared/gpu-page'
import { makeRunData, tinyConfig, useBackend } from '../engine/training/fixtures'
import { openGpuPage, sendToPage } from '../helpers/gpu-page'

const chromium = await openGpuPage()
const { unavailable } = chromium

/** The relay: each request to the page's port through playwright, an error answer rejected with the page's words. */
function relay(page: Page, rewrite: (call: Record<string, unknown>) => Record<string, unknown> = (c) => c): GpuPageTransport {
  let id = 1
  return {
    async request(call) {
      const response = await sendToPage(page, { ...rewrite(call as unknown as Record<string, unknown>), id: id++ } as GpuRequestInput)
      if (!response.ok) throw new Error(response.error)
      return response.result
    }
  }
}

class Recorder implements TrainingPlugin {
  readonly name = 'recorder'
  losses: number[] = []
  tensors: number[] = []
  pageTensors: number[] = []
  constructor(
    private readonly gpu: GpuPageGradients | null,
    private readonly onStep: (step: number) => Promise<void> = async () => undefined
  ) {}
  async afterStep(_ctx: TrainingContext, r: StepRecord): Promise<void> {
    this.losses.push(r.loss)
    this.tensors.push(tf.memory().numTensors)
    if (this.gpu) this.pageTensors.push(this.gpu.pageTensors)
    await this.onStep(r.step)
  }
}

let data: RunData

async function train(config: RunConfig, gpu: GpuPageGradients | null, onStep?: (step: number) => Promise<void>): Promise<{ recorder: Recorder; weights: Weights }> {
  const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 3 })
  const recorder = new Recorder(gpu, onStep)
  const loop = new TrainingLoop({ config, model, data, plugins: [...methodPlugins(config), recorder], shards: gpu })
  try {
    expect(await loop.run()).toBe(true)
    return { recorder, weights: await loop.model.readWeights() }
  } finally {
    loop.dispose()
    loop.model.dispose()
  }
}

async function expectEqualRuns(config: RunConfig, updates: number, microBatches: number): Promise<void> {
  const one = await train(config, null)
  const gpu = new GpuPageGradients(relay(chromium.page!))
  const paged = await train(config, gpu)
  expect(paged.recorder.losses.length).toBe(updates)
  expect(one.recorder.losses.length).toBe(updates)
  paged.recorder.losses.forEach((loss, i) => expect(Math.abs(loss - one.recorder.losses[i]!), `update ${i + 1}: page ${loss}, wasm ${one.recorder.losses[i]}`).toBeLessThan(1e-4))
  // every micro-batch was computed by the page, on the weights of its update (one version each)
  expect(gpu.shardsComputed).toBe(updates * microBatches)
  expect(gpu.weightsSent).toBe(updates)
  let worst = 0
  for (const [role, w] of Object.entries(one.weights)) w.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - paged.weights[role]!.data[i]!))))
  expect(worst).toBeLessThan(1e-4)
  // no tensor growth over the run's last updates, here and in the page
  const [t, p] = [paged.recorder.tensors, paged.recorder.pageTensors]
  expect(t.at(-1)).toBe(t.at(-3))
  expect(p.at(-1)).toBeGreaterThan(0)
  expect(p.at(-1)).toBe(p.at(-3))
}

describe.skipIf(Boolean(unavailable))(`training through the GPU page${unavailable ? ` (${unavailable})` : ''}`, () => {
  beforeAll(async () => {
    await useBackend('wasm')
    data = await makeRunData()
  })
  afterAll(async () => {
    await chromium.close()
  })

  it('GPT, 6 updates of 2 micro-batches: the page computes every micro-batch and the losses are the one-thread wasm run’s to 1e-4', async () => {
    const config = tinyConfig('gpt', {
      model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8, dropout: 0 },
      training: { seqLen: 16, batchSize: 4, accumulation: 2, lr: 3e-3, validateEvery: 3, validationSequences: 8, checkpointEvery: 1000, seed: 7 },
      stages: [{ domain: 'alpha', steps: 6 }]
    } as never)
    await expectEqualRuns(config, 6, 2)
  }, 120_000)

  it('BERT with EWC (its penalty on the coordinator) over two domains: the losses are the one-thread wasm run’s to 1e-4', async () => {
    const config = tinyConfig('bert', {
      model: { kind: 'bert', layers: 1, heads: 2, headSize: 8, dropout: 0 },
      method: { name: 'ewc' },
      training: { seqLen: 16, batchSize: 4, lr: 3e-3, validateEvery: 10, validationSequences: 8, checkpointEvery: 1000, seed: 7 },
      stages: [
        { domain: 'alpha', steps: 3 },
        { domain: 'beta', steps: 3 }
      ]
    } as never)
    await expectEqualRuns(config, 6, 1)
  }, 120_000)

  const short = (): RunConfig => tinyConfig('gpt', { model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8, dropout: 0 }, stages: [{ domain: 'alpha', steps: 4 }] } as never)

  it('an error answer from the page fails the run with an error naming the GPU window and the page’s reason', async () => {
    // the relay asks for gradients on a weights version the page never got
    const gpu = new GpuPageGradients(relay(chromium.page!, (c) => (c.op === 'gradients' ? { ...c, version: 999 } : c)))
    await expect(train(short(), gpu)).rejects.toThrow(/^training on the GPU window failed \(gradients\): gradients on weights version 999, but the page holds version 1$/)
  }, 60_000)

  it('a page closed mid-run fails the run with an error naming the GPU window, not a hang', async () => {
    const tab = await chromium.newPage()
    const gpu = new GpuPageGradients(relay(tab))
    const run = train(short(), gpu, async (step) => {
      if (step === 2) await tab.close()
    })
    await expect(run).rejects.toThrow(/^training on the GPU window failed \(weights\): .*(closed|Target)/)
    expect(gpu.shardsComputed).toBe(2)
  }, 60_000)
})
