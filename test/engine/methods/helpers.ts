// Shared pieces of the method tests: a 2-stage tiny config per method, a run helper and a recorder.
import * as tf from '@tensorflow/tfjs'
import { TransformerModel } from '../../../src/main/engine/model'
import type { MethodSettings, RunConfig, RunConfigInput } from '../../../src/main/engine/training/config'
import type { RunData } from '../../../src/main/engine/training/data'
import { TrainingLoop, type StepRecord, type TrainingContext, type TrainingPlugin, type ValidationReport } from '../../../src/main/engine/training/loop'
import { methodPlugins } from '../../../src/main/engine/methods/registry'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import { tinyConfig } from '../training/fixtures'

export type MethodInput = { name: MethodSettings['name'] } & Record<string, unknown>

/** Two stages (alpha, then beta) of a tiny model; replay where the method needs it, growth for ELLE/joint. */
export function methodConfig(kind: 'gpt' | 'bert', method: MethodInput, extra: Partial<RunConfigInput> = {}): RunConfig {
  const name = method.name
  const replay = name === 'er' || name === 'rewarm' || name === 'elle' ? { ratio: 0.5, weights: 'uniform' as const } : { ratio: 0, weights: 'uniform' as const }
  const grows = name === 'elle' || name === 'joint' || name === 'scratch'
  return tinyConfig(kind, {
    model: { kind, layers: 1, heads: 2, headSize: 8, dropout: 0 },
    replay,
    memory: { fraction: 0.2 },
    method,
    stages: [
      { domain: 'alpha', steps: 12 },
      { domain: 'beta', steps: 12, ...(grows ? { grow: { layers: 1, heads: 1 } } : {}) }
    ],
    ...extra
  } as Partial<RunConfigInput>)
}

/** Records losses, penalties, validations and the tensor count after every update. */
export class Recorder implements TrainingPlugin {
  readonly name = 'recorder'
  steps: StepRecord[] = []
  validations: ValidationReport[] = []
  tensorsAt = new Map<number, number>()
  afterStep(_ctx: TrainingContext, r: StepRecord): void {
    this.steps.push(r)
  }
  afterValidation(_ctx: TrainingContext, report: ValidationReport): void {
    this.validations.push(report)
  }
  afterUpdate(_ctx: TrainingContext, r: StepRecord): void {
    this.tensorsAt.set(r.step, tf.memory().numTensors)
  }
  lossOf(domain: string, at = -1): number {
    return this.validations.at(at)!.domains.find((d) => d.domain === domain)!.loss
  }
}

export interface MethodRun {
  loop: TrainingLoop
  plugins: TrainingPlugin[]
  recorder: Recorder
  /** dispose the loop and the (possibly replaced) model */
  close(): void
}

/** `extra` plugins run after the method's (a function gets the method plugins, to probe them). */
export async function runMethod(data: RunData, config: RunConfig, extra: TrainingPlugin[] | ((methods: TrainingPlugin[]) => TrainingPlugin[]) = [], seed = 1): Promise<MethodRun> {
  const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed })
  const plugins = methodPlugins(config)
  const recorder = new Recorder()
  const more = typeof extra === 'function' ? extra(plugins) : extra
  const loop = new TrainingLoop({ config, model, data, plugins: [...plugins, ...more, recorder] })
  const done = await loop.run()
  if (!done) throw new Error('the run stopped early')
  return {
    loop,
    plugins,
    recorder,
    close: () => {
      loop.dispose()
      loop.model.dispose()
      model.dispose()
    }
  }
}

export function pluginOf<T extends TrainingPlugin>(run: { plugins: TrainingPlugin[] }, type: new (...args: never[]) => T): T {
  const p = run.plugins.find((x) => x instanceof type)
  if (!p) throw new Error(`no ${type.name} in the run`)
  return p as T
}
