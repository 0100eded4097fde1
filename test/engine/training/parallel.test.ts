// Data-parallel training (training/parallel.ts): a run whose micro-batches are shared with a replica thread
// equals the one-thread run to float rounding (losses and final weights), for GPT and BERT, with every kind
// of method plugin (a penalty, A-GEM's projection, logit-KD's teacher, PNN's columns and laterals), across a
// growth stage; every update is shared; the replica holds the coordinator's weights (and its constants and
// teacher) bit for bit; validation, split with the replica, gives the one-thread perplexities; tensors stay flat.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methodPlugins } from '../../../src/main/engine/methods/registry'
import { PnnModel } from '../../../src/main/engine/methods/pnn-model'
import { TransformerModel, type Weights } from '../../../src/main/engine/model'
import type { RunConfig } from '../../../src/main/engine/training/config'
import type { RunData } from '../../../src/main/engine/training/data'
import { TrainingLoop, type StepRecord, type TrainingContext, type TrainingPlugin, type ValidationReport } from '../../../src/main/engine/training/loop'
import { ReplicaPool } from '../../../src/main/engine/training/parallel'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import { makeRunData, tinyConfig, useBackend } from './fixtures'

let data: RunData
let pool: ReplicaPool

beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
  pool = await ReplicaPool.start({ replicas: 1, backend: 'wasm' })
}, 60_000)

afterAll(async () => {
  await pool?.dispose()
})

/** Losses, tensor counts and (with a pool) whether the replica holds the coordinator's weights after each sync. */
class Recorder implements TrainingPlugin {
  readonly name = 'recorder'
  losses: number[] = []
  tensors: number[] = []
  replicaTensors: number[] = []
  digestsEqual: boolean[] = []
  /** shards the replica computed in each update */
  shardsPerStep: number[] = []
  private shardsBefore = 0
  constructor(private readonly shards: ReplicaPool | null) {
    this.shardsBefore = this.shardsComputed()
  }
  private shardsComputed(): number {
    return this.shards?.shardsComputed ?? 0
  }
  /** every validation's per-domain loss and per-document sums, in order */
  validations: Array<{ domain: string; loss: number; docLoss: number[] }> = []
  afterValidation(_ctx: TrainingContext, report: ValidationReport): void {
    for (const d of report.domains) this.validations.push({ domain: d.domain, loss: d.loss, docLoss: d.docLoss ?? [] })
  }
  async afterStep(_ctx: TrainingContext, r: StepRecord): Promise<void> {
    this.losses.push(r.loss)
    if (this.shards) {
      this.shardsPerStep.push(this.shards.shardsComputed - this.shardsBefore)
      this.shardsBefore = this.shardsComputed()
    }
    this.tensors.push(tf.memory().numTensors)
    if (this.shards) this.replicaTensors.push(this.shards.replicaTensors()[0]!)
    if (this.shards && r.step % 5 === 0) {
      const d = await this.shards.digests()
      this.digestsEqual.push(d.replicas.every((x) => x === d.coordinator))
    }
  }
}

async function train(config: RunConfig, shards: ReplicaPool | null): Promise<{ recorder: Recorder; weights: Weights }> {
  const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 3 })
  const recorder = new Recorder(shards)
  const loop = new TrainingLoop({ config, model, data, plugins: [...methodPlugins(config), recorder], shards, evaluation: shards })
  expect(await loop.run()).toBe(true)
  // PNN: the newest column's laterals too (they train beside the checkpointed roles)
  const weights = { ...(await loop.model.readWeights()), ...(loop.model instanceof PnnModel ? await loop.model.lateralWeights() : {}) }
  loop.dispose()
  loop.model.dispose()
  return { recorder, weights }
}

function maxWeightDifference(a: Weights, b: Weights): number {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort())
  let max = 0
  for (const [name, w] of Object.entries(a)) {
    const v = b[name]!.data
    expect(v.length).toBe(w.data.length)
    for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]! - w.data[i]!))
  }
  return max
}

async function expectEqualRuns(config: RunConfig): Promise<Recorder> {
  const one = await train(config, null)
  const evaluated = pool.partsEvaluated
  const two = await train(config, pool)
  // validation was shared too (each evaluation set split with the replica) and equals the one-thread perplexities
  expect(pool.partsEvaluated - evaluated).toBeGreaterThanOrEqual(two.recorder.validations.length)
  expect(two.recorder.validations.map((v) => v.domain)).toEqual(one.recorder.validations.map((v) => v.domain))
  two.recorder.validations.forEach((v, i) => {
    const w = one.recorder.validations[i]!
    expect(Math.abs(v.loss - w.loss)).toBeLessThan(1e-4 * Math.max(1, w.loss))
    expect(v.docLoss.length).toBe(w.docLoss.length)
    v.docLoss.forEach((x, d) => expect(Math.abs(x - w.docLoss[d]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(w.docLoss[d]!))))
  })
  // every update's micro-batches were shared (at least one shard for the replica in each)
  expect(two.recorder.shardsPerStep.length).toBe(two.recorder.losses.length)
  expect(two.recorder.shardsPerStep.every((n) => n >= 1)).toBe(true)
  expect(two.recorder.losses.length).toBe(one.recorder.losses.length)
  two.recorder.losses.forEach((loss, i) => expect(Math.abs(loss - one.recorder.losses[i]!)).toBeLessThan(1e-4 * Math.max(1, one.recorder.losses[i]!)))
  expect(maxWeightDifference(one.weights, two.weights)).toBeLessThan(1e-4)
  expect(two.recorder.digestsEqual.length).toBeGreaterThan(0)
  expect(two.recorder.digestsEqual.every(Boolean)).toBe(true)
  // no tensor growth over the run's last steps, here and in the replica
  const t = two.recorder.tensors
  expect(t.at(-1)).toBe(t.at(-4))
  const r = two.recorder.replicaTensors
  expect(r.at(-1)).toBeGreaterThan(0)
  expect(r.at(-1)).toBe(r.at(-4))
  return two.recorder
}

describe('data-parallel training (2 threads)', () => {
  it('GPT, naive: equals the one-thread run', async () => {
    await expectEqualRuns(tinyConfig('gpt', { stages: [{ domain: 'alpha', steps: 12 }] }))
  }, 120_000)

  it('BERT with EWC (penalty) and replay: equals the one-thread run, shards weighted by masked-token counts', async () => {
    const config = tinyConfig('bert', {
      method: { name: 'ewc' },
      replay: { ratio: 0.5, weights: 'uniform' },
      training: { seqLen: 16, batchSize: 5, accumulation: 2, lr: 3e-3, validateEvery: 10, validationSequences: 8, checkpointEvery: 1000, seed: 7 },
      stages: [
        { domain: 'alpha', steps: 8 },
        { domain: 'beta', steps: 8 }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)

  it('GPT with A-GEM (the projection of the summed gradient) and replay: equals the one-thread run', async () => {
    const config = tinyConfig('gpt', {
      method: { name: 'agem' },
      replay: { ratio: 0.5, weights: 'uniform' },
      stages: [
        { domain: 'alpha', steps: 6 },
        { domain: 'beta', steps: 8 }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)

  it('GPT, ELLE growth with masks and a warm-up: equals the one-thread run across the growth stage', async () => {
    const config = tinyConfig('gpt', {
      model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8, dropout: 0 },
      growth: { mode: 'exact', noise: 0, globalNoise: false, optimizer: 'grow', rampSteps: 4 },
      replay: { ratio: 0.25, weights: 'adaptive' },
      stages: [
        { domain: 'alpha', steps: 8 },
        { domain: 'beta', steps: 10, frwSteps: 3, grow: { layers: 1, heads: 1 } }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)

  it('GPT with logit-KD (the replica holds the teacher and computes the distillation term) and replay: equals the one-thread run', async () => {
    const config = tinyConfig('gpt', {
      method: { name: 'logit-kd', alpha: 0.9, temperature: 2 },
      replay: { ratio: 0.5, weights: 'uniform' },
      stages: [
        { domain: 'alpha', steps: 5 },
        { domain: 'beta', steps: 10 }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)

  it('GPT with PNN (the replica rebuilds the frozen columns; the laterals train on both threads): equals the one-thread run over three columns', async () => {
    const config = tinyConfig('gpt', {
      method: { name: 'pnn' },
      stages: [
        { domain: 'alpha', steps: 5 },
        { domain: 'beta', steps: 5 },
        { domain: 'alpha', steps: 5 }
      ]
    } as never)
    await expectEqualRuns(config)
  }, 120_000)
})
