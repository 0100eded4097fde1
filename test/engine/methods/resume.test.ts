// A method's state survives a checkpoint: stopping inside the second stage, saving what the runner saves
// (the model's weights and Adam moments through the real checkpoint format, the loop state and every
// plugin's state, JSON in state.json and tensors in plugins.safetensors, taken after the loop returned, as a
// cancelled run's checkpoint is) and resuming in fresh objects gives the same losses as never stopping.
// Checkpoints written before plugins.safetensors (tensors as base64 inside state.json) resume the same way.
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint, saveCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { TransformerModel } from '../../../src/main/engine/model'
import type { RunData } from '../../../src/main/engine/training/data'
import type { Weights } from '../../../src/main/engine/model'
import { loadPluginStates, savePluginStates } from '../../../src/main/engine/training/plugin-state'
import { TrainingLoop, type LoopState, type StepRecord, type TrainingContext, type TrainingPlugin } from '../../../src/main/engine/training/loop'
import { methodPlugins } from '../../../src/main/engine/methods/registry'
import { modelConfigFor } from '../../../src/main/engine/training/run'
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

/** The state JSON as checkpoints before plugins.safetensors held it: every tensor group inline, as base64 float32. */
function inlineBase64(plugins: Record<string, unknown>, tensors: Weights): Record<string, unknown> {
  const visit = (plugin: string, v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((x) => visit(plugin, x))
    if (v === null || typeof v !== 'object') return v
    const o = v as Record<string, unknown>
    if (typeof o.tensors === 'string' && Array.isArray(o.names)) {
      return Object.fromEntries(
        (o.names as string[]).map((n) => {
          const w = tensors[`${plugin}/${o.tensors as string}/${n}`]!
          return [n, { shape: w.shape, base64: Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).toString('base64') }]
        })
      )
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, visit(plugin, x)]))
  }
  return Object.fromEntries(Object.entries(plugins).map(([name, state]) => [name, visit(name, state)]))
}

const WITH_TENSORS = ['ewc', 'mas', 'logit-kd', 'pnn']

describe('resuming inside a stage', () => {
  const expected = new Map<string, number[]>()
  const cases = methods.flatMap((m) => [{ method: m, format: 'safetensors' as const }, ...(WITH_TENSORS.includes(m.name) ? [{ method: m, format: 'base64' as const }] : [])])
  for (const { method, format } of cases) {
    it(`${method.name}: the same losses as a run that never stopped (plugin tensors ${format === 'base64' ? 'as base64 in state.json, the older form' : 'in plugins.safetensors'})`, async () => {
      const config = methodConfig('gpt', method)
      if (!expected.has(method.name)) {
        const straight = await runMethod(data, config)
        expected.set(
          method.name,
          straight.recorder.steps.map((s) => s.loss)
        )
        straight.close()
      }

      // stop at update 17 (inside the second stage) and write a checkpoint as the runner does
      const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
      const plugins = methodPlugins(config)
      const stop = new StopAt(17)
      const first = new TrainingLoop({ config, model, data, plugins: [...plugins, stop] })
      expect(await first.run()).toBe(false)
      const dir = path.join(tempDir(), 'ckpt')
      const saved = await savePluginStates(plugins)
      const old = format === 'base64'
      if (WITH_TENSORS.includes(method.name)) expect(Object.keys(saved.tensors).length).toBeGreaterThan(0)
      const state = JSON.parse(JSON.stringify({ loop: first.state, plugins: old ? inlineBase64(saved.json, saved.tensors) : saved.json }))
      const optimizerState = await first.trainer!.optimizer.readState()
      await saveCheckpoint(dir, {
        config: first.model.config,
        weights: await first.model.readWeights(),
        optimizerState,
        tokenizer: data.tokenizer,
        state,
        pluginTensors: old ? undefined : saved.tensors
      })
      first.dispose()
      first.model.dispose()
      model.dispose()

      const loaded = await loadCheckpoint(dir)
      expect(Object.keys(loaded.pluginTensors).length > 0).toBe(!old && WITH_TENSORS.includes(method.name))
      if (!old) expect(JSON.stringify(loaded.state)).not.toContain('base64')
      const restored = new TransformerModel(loaded.config)
      restored.setWeights(loaded.weights)
      const again = methodPlugins(config)
      const resumed = loaded.state as unknown as { loop: LoopState; plugins: Record<string, unknown> }
      loadPluginStates(again, resumed.plugins, loaded.pluginTensors, dir)
      const rest = new StopAt(Infinity)
      const second = new TrainingLoop({ config, model: restored, data, plugins: [...again, rest], state: resumed.loop, optimizerState: loaded.optimizerState })
      expect(await second.run()).toBe(true)
      expect([...stop.losses, ...rest.losses]).toEqual(expected.get(method.name))
      second.dispose()
      second.model.dispose()
      restored.dispose()
    })
  }
})
