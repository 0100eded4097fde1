// A method's state survives a checkpoint: stopping inside the second stage, saving what the runner saves
// (the model's weights and Adam moments through the real checkpoint format, the loop state and every
// plugin's saveState as JSON, taken after the loop returned, as a cancelled run's checkpoint is) and resuming in fresh objects gives the same losses as never stopping.
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint, saveCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { TransformerModel } from '../../../src/main/engine/model'
import type { RunData } from '../../../src/main/engine/training/data'
import { TrainingLoop, type LoopState, type StepRecord, type TrainingContext, type TrainingPlugin } from '../../../src/main/engine/training/loop'
import { methodPlugins, modelConfigFor } from '../../../src/main/engine/training/run'
import { tempDir } from '../../helpers/tmp'
import { makeRunData, useBackend } from '../training/fixtures'
import { methodConfig, runMethod, type MethodInput } from './helpers'

let data: RunData
beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

class StopAt implements TrainingPlugin {
  readonly name = 'stop'
  losses: number[] = []
  constructor(private readonly step: number) {}
  afterStep(ctx: TrainingContext, r: StepRecord): void {
    this.losses.push(r.loss)
    if (r.step >= this.step) ctx.requestStop()
  }
}

const methods: MethodInput[] = [
  { name: 'ewc', lambda: 100 },
  { name: 'mas', lambda: 0.1 },
  { name: 'agem' },
  { name: 'logit-kd', alpha: 0.5 },
  { name: 'pnn' },
  { name: 'joint' },
  { name: 'rewarm' }
]

describe('resuming inside a stage', () => {
  for (const method of methods) {
    it(`${method.name}: the same losses as a run that never stopped`, async () => {
      const config = methodConfig('gpt', method)
      const straight = await runMethod(data, config)
      const expected = straight.recorder.steps.map((s) => s.loss)
      straight.close()

      // stop at update 17 (inside the second stage) and write a checkpoint as the runner does
      const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
      const plugins = methodPlugins(config)
      const stop = new StopAt(17)
      const first = new TrainingLoop({ config, model, data, plugins: [...plugins, stop] })
      expect(await first.run()).toBe(false)
      const dir = path.join(tempDir(), 'ckpt')
      const state = JSON.parse(JSON.stringify({ loop: first.state, plugins: Object.fromEntries(plugins.filter((p) => p.saveState).map((p) => [p.name, p.saveState!()])) }))
      await saveCheckpoint(dir, { config: first.model.config, weights: first.model.getWeights(), optimizerState: first.trainer!.optimizer.getState(), tokenizer: data.tokenizer, state })
      first.dispose()
      first.model.dispose()
      model.dispose()

      const loaded = await loadCheckpoint(dir)
      const restored = new TransformerModel(loaded.config)
      restored.setWeights(loaded.weights)
      const again = methodPlugins(config)
      const saved = loaded.state as unknown as { loop: LoopState; plugins: Record<string, unknown> }
      for (const p of again) if (p.loadState && saved.plugins[p.name] !== undefined) p.loadState(saved.plugins[p.name])
      const rest = new StopAt(Infinity)
      const second = new TrainingLoop({ config, model: restored, data, plugins: [...again, rest], state: saved.loop, optimizerState: loaded.optimizerState })
      expect(await second.run()).toBe(true)
      expect([...stop.losses, ...rest.losses]).toEqual(expected)
      second.dispose()
      second.model.dispose()
      restored.dispose()
    })
  }
})
