// The training loop on the real wasm backend with real tokenized data.
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint, saveCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { TransformerModel } from '../../../src/main/engine/model'
import type { RunData } from '../../../src/main/engine/training/data'
import { NonFiniteLossError, TrainingLoop, type LoopState, type StepRecord, type TrainingPlugin, type ValidationReport } from '../../../src/main/engine/training/loop'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import type { RunConfig } from '../../../src/main/engine/training/config'
import { tempDir } from '../../helpers/tmp'
import { makeRunData, tinyConfig, useBackend } from './fixtures'

let data: RunData

beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

/** Records what the loop reports, and can stop it after a given step. */
class Recorder implements TrainingPlugin {
  readonly name = 'recorder'
  losses: number[] = []
  validations: ValidationReport[] = []
  tensorsAt = new Map<number, number>()
  stages: string[] = []
  constructor(private readonly stopAfter = Infinity) {}
  beforeStage(_ctx: unknown, stage: { domain: string }, resumed: boolean): void {
    this.stages.push(`${stage.domain}${resumed ? ' (resumed)' : ''}`)
  }
  afterStep(ctx: { requestStop(): void }, r: StepRecord): void {
    this.losses.push(r.loss)
    this.tensorsAt.set(r.step, tf.memory().numTensors)
    if (r.step >= this.stopAfter) ctx.requestStop()
  }
  afterValidation(_ctx: unknown, report: ValidationReport): void {
    this.validations.push(report)
  }
}

function makeLoop(config: RunConfig, plugins: TrainingPlugin[], extra: { state?: LoopState; model?: TransformerModel } = {}) {
  const model = extra.model ?? new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: config.training.seed })
  return { model, loop: new TrainingLoop({ config, model, data, plugins, state: extra.state }) }
}

describe('training loop', () => {
  it('lowers validation perplexity of a tiny GPT and validates every seen domain with its prompt', async () => {
    const config = tinyConfig('gpt', {
      stages: [
        { domain: 'alpha', steps: 40 },
        { domain: 'beta', steps: 20 }
      ]
    })
    const recorder = new Recorder()
    const { loop, model } = makeLoop(config, [recorder])
    expect(await loop.run()).toBe(true)
    const alpha = recorder.validations.map((v) => v.domains.find((d) => d.domain === 'alpha')!.ppl)
    expect(alpha.at(3)!).toBeLessThan(alpha[0]! * 0.7)
    // stage 1 validates alpha only; stage 2 validates alpha and beta
    expect(recorder.validations[0]!.domains.map((d) => d.domain)).toEqual(['alpha'])
    expect(recorder.validations.at(-1)!.domains.map((d) => d.domain)).toEqual(['alpha', 'beta'])
    expect(recorder.validations.filter((v) => v.endOfStage).map((v) => v.step)).toEqual([40, 60])
    expect(loop.state).toMatchObject({ stageIndex: 2, globalStep: 60, tokensSeen: 60 * 4 * 16 })
    expect(loop.state.flops).toBeGreaterThan(0)
    loop.dispose()
    model.dispose()
  })

  it('trains a tiny BERT with masked-LM loss', async () => {
    const config = tinyConfig('bert', { stages: [{ domain: 'alpha', steps: 40 }] })
    const recorder = new Recorder()
    const { loop, model } = makeLoop(config, [recorder])
    await loop.run()
    const ppl = recorder.validations.map((v) => v.domains[0]!.ppl)
    expect(ppl.at(-1)!).toBeLessThan(ppl[0]!)
    loop.dispose()
    model.dispose()
  })

  it('gives the same losses for the same seed, and different ones for another seed', async () => {
    const losses = async (seed: number) => {
      const config = tinyConfig('gpt', { training: { ...tinyConfig('gpt').training, seed } })
      const recorder = new Recorder()
      const { loop, model } = makeLoop(config, [recorder])
      await loop.run()
      loop.dispose()
      model.dispose()
      return recorder.losses
    }
    const a = await losses(3)
    expect(await losses(3)).toEqual(a)
    expect(await losses(4)).not.toEqual(a)
  })

  it('leaks no tensors: the count after step 10 equals the count after step 200', async () => {
    const config = tinyConfig('bert', { stages: [{ domain: 'alpha', steps: 200 }], training: { ...tinyConfig('bert').training, validateEvery: 25 } })
    const recorder = new Recorder()
    const { loop, model } = makeLoop(config, [recorder])
    await loop.run()
    expect(recorder.tensorsAt.get(200)).toBe(recorder.tensorsAt.get(10))
    loop.dispose()
    model.dispose()
  })

  it('save, load and continue gives the same next losses as never stopping', async () => {
    const config = tinyConfig('gpt', { stages: [{ domain: 'alpha', steps: 24 }], training: { ...tinyConfig('gpt').training, accumulation: 2 } })
    const straight = new Recorder()
    const first = makeLoop(config, [straight])
    await first.loop.run()
    first.loop.dispose()
    first.model.dispose()

    const before = new Recorder(10)
    const a = makeLoop(config, [before])
    expect(await a.loop.run()).toBe(false)
    const dir = path.join(tempDir(), 'ckpt')
    await saveCheckpoint(dir, {
      config: a.model.config,
      weights: await a.model.readWeights(),
      optimizerState: await a.loop.trainer!.optimizer.readState(),
      tokenizer: data.tokenizer,
      state: JSON.parse(JSON.stringify(a.loop.state))
    })
    a.loop.dispose()
    a.model.dispose()

    const loaded = await loadCheckpoint(dir)
    const model = new TransformerModel(loaded.config, { seed: 999 }) // different init: the checkpoint must overwrite it
    model.setWeights(loaded.weights)
    const after = new Recorder()
    const b = new TrainingLoop({ config, model, data, plugins: [after], state: loaded.state as unknown as LoopState, optimizerState: loaded.optimizerState })
    expect(await b.run()).toBe(true)
    expect(after.stages).toEqual(['alpha (resumed)'])
    expect([...before.losses, ...after.losses]).toEqual(straight.losses)
    b.dispose()
    model.dispose()
  })

  it('stops with the step named when the loss is not finite', async () => {
    const config = tinyConfig('gpt')
    const { loop, model } = makeLoop(config, [])
    const weights = await model.readWeights()
    weights['embed.token']!.data.fill(Number.NaN)
    model.setWeights(weights)
    const error = await loop.run().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NonFiniteLossError)
    expect((error as Error).message).toBe('the training loss became NaN at step 1')
    loop.dispose()
    model.dispose()
  })
})
