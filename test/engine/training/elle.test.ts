// ELLE in the loop: growth between stages preserves the function in exact mode, the masks ramp and go
// away, the optimizer can grow with the weights, and the run keeps training afterwards.
import { beforeAll, describe, expect, it } from 'vitest'
import { GrowthPlugin } from '../../../src/main/engine/methods/growth'
import { ReplayPlugin } from '../../../src/main/engine/methods/replay'
import { AdamW, learningRate, TransformerModel } from '../../../src/main/engine/model'
import type { RunConfig } from '../../../src/main/engine/training/config'
import type { RunData } from '../../../src/main/engine/training/data'
import {
  initialLoopState,
  TrainingLoop,
  type StagePlan,
  type StepRecord,
  type TrainingContext,
  type TrainingPlugin,
  type ValidationReport
} from '../../../src/main/engine/training/loop'
import { methodPlugins } from '../../../src/main/engine/methods/registry'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import { makeRunData, tinyConfig, useBackend } from './fixtures'

let data: RunData
beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

/** Measures validation loss right after each phase's growth, and keeps the last report before it. */
class Probe implements TrainingPlugin {
  readonly name = 'probe'
  lastReport: ValidationReport | null = null
  atGrowth: Array<{ before: number; after: number; params: number; masks: boolean }> = []
  masksAt = new Map<number, boolean>()
  async beforeStage(ctx: TrainingContext, stage: StagePlan): Promise<void> {
    if (!stage.grow || !this.lastReport) return
    const before = this.lastReport.domains.find((d) => d.domain === 'alpha')!.loss
    const after = (await (ctx as TrainingLoop).evaluateDomain('alpha')).loss
    this.atGrowth.push({ before, after, params: ctx.model.paramCount(), masks: ctx.model.getGrowthMasks() !== null })
  }
  afterStep(ctx: TrainingContext, r: { step: number }): void {
    this.masksAt.set(r.step, ctx.model.getGrowthMasks() !== null)
  }
  afterValidation(_ctx: TrainingContext, report: ValidationReport): void {
    this.lastReport = report
  }
}

function elleConfig(kind: 'gpt' | 'bert', heads: number, extra: Partial<RunConfig> = {}): RunConfig {
  return tinyConfig(kind, {
    model: { kind, layers: 1, heads: 2, headSize: 8, dropout: 0 },
    growth: { mode: 'exact', noise: 0, globalNoise: false, optimizer: 'reset', rampSteps: 10 },
    replay: { ratio: 0.25, weights: 'adaptive' },
    stages: [
      { domain: 'alpha', steps: 20 },
      { domain: 'beta', steps: 20, frwSteps: 5, grow: { layers: 1, heads } }
    ],
    ...extra
  } as Partial<RunConfig>)
}

async function runWith(config: RunConfig): Promise<{ loop: TrainingLoop; probe: Probe; growth: GrowthPlugin }> {
  const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 2 })
  const probe = new Probe()
  const methods = methodPlugins(config)
  const growth = methods.find((p) => p instanceof GrowthPlugin) as GrowthPlugin
  expect(methods.some((p) => p instanceof ReplayPlugin)).toBe(true)
  const loop = new TrainingLoop({ config, model, data, plugins: [...methods, probe] })
  expect(await loop.run()).toBe(true)
  return { loop, probe, growth }
}

describe('ELLE growth inside a run', () => {
  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: exact growth (integer ratio) keeps the validation loss, then training continues on the larger model`, async () => {
      const { loop, probe, growth } = await runWith(elleConfig(kind, 2))
      expect(probe.atGrowth).toHaveLength(1)
      const g = probe.atGrowth[0]!
      expect(Math.abs(g.after - g.before) / g.before).toBeLessThan(1e-4)
      expect(g.masks).toBe(kind === 'bert') // post-LN depth is gated; pre-LN depth is an identity layer
      expect(growth.events[0]!.after).toBeGreaterThan(growth.events[0]!.before)
      expect(loop.model.config).toMatchObject({ layers: 2, heads: 4, hidden: 32 })
      expect(loop.state.globalStep).toBe(45)
      loop.dispose()
      loop.model.dispose()
    })
  }

  it('non-integer width growth uses masks that ramp to 1 and then disappear', async () => {
    const { loop, probe } = await runWith(elleConfig('gpt', 1)) // heads 2 -> 3
    const g = probe.atGrowth[0]!
    expect(Math.abs(g.after - g.before) / g.before).toBeLessThan(1e-4)
    expect(g.masks).toBe(true)
    // growth at the start of the warm-up (step 20); masks on for the 10 ramp steps, then gone
    expect(probe.masksAt.get(21)).toBe(true)
    expect(probe.masksAt.get(29)).toBe(true)
    expect(probe.masksAt.get(30)).toBe(false)
    expect(loop.model.getGrowthMasks()).toBeNull()
    loop.dispose()
    loop.model.dispose()
  })

  it('elle mode perturbs the function (noise), yet stays close to it', async () => {
    const config = elleConfig('gpt', 2, { growth: { mode: 'elle', noise: 0.01, globalNoise: false, optimizer: 'grow', rampSteps: 10 } } as Partial<RunConfig>)
    const { loop, probe } = await runWith(config)
    const g = probe.atGrowth[0]!
    expect(g.after).not.toBe(g.before)
    expect(Math.abs(g.after - g.before) / g.before).toBeLessThan(0.2)
    loop.dispose()
    loop.model.dispose()
  })
})

/** Records the learning rate of every update, and the weights and validation loss at the start and end of each phase. */
class PhaseProbe implements TrainingPlugin {
  readonly name = 'phase-probe'
  readonly lrs = new Map<number, number[]>()
  readonly atStart = new Map<number, { weights: Float32Array; loss: number }>()
  readonly atEnd = new Map<number, { weights: Float32Array; loss: number }>()
  private async snapshot(ctx: TrainingContext, domain: string): Promise<{ weights: Float32Array; loss: number }> {
    const w = await ctx.model.readWeights()
    const weights = Float32Array.from(
      Object.keys(w)
        .sort()
        .flatMap((n) => [...w[n]!.data])
    )
    return { weights, loss: (await (ctx as TrainingLoop).evaluateDomain(domain)).loss }
  }
  async optimizerReady(ctx: TrainingContext, stage: StagePlan): Promise<void> {
    this.atStart.set(stage.index, await this.snapshot(ctx, stage.domain))
  }
  afterStep(_ctx: TrainingContext, r: StepRecord): void {
    this.lrs.set(r.stage.index, [...(this.lrs.get(r.stage.index) ?? []), r.lr])
  }
  async afterStage(ctx: TrainingContext, stage: StagePlan): Promise<void> {
    this.atEnd.set(stage.index, await this.snapshot(ctx, stage.domain))
  }
}

describe('optimizer: grow carries Adam across phases, and each phase keeps its own schedule', () => {
  it('a two-stage run with grow changes its weights in stage 2 and lowers the stage-2 loss (it trained at LR 0 before)', async () => {
    const config = elleConfig('gpt', 2, { growth: { mode: 'exact', noise: 0, globalNoise: false, optimizer: 'grow', rampSteps: 10 } } as Partial<RunConfig>)
    const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 2 })
    const probe = new PhaseProbe()
    const loop = new TrainingLoop({ config, model, data, plugins: [...methodPlugins(config), probe] })
    expect(await loop.run()).toBe(true)
    // phases: 0 train alpha (20), 1 FRW on alpha's memory (5), 2 train beta (20)
    expect(loop.stages.map((s) => s.kind)).toEqual(['train', 'frw', 'train'])
    for (const phase of [1, 2]) expect(Math.min(...probe.lrs.get(phase)!)).toBeGreaterThan(0)
    // the stage-2 schedule starts again with its warm-up: its first rate is the first rate of a fresh schedule
    expect(probe.lrs.get(2)![0]).toBeCloseTo(probe.lrs.get(0)![0]!, 12)
    const start = probe.atStart.get(2)!
    const end = probe.atEnd.get(2)!
    let changed = 0
    for (let i = 0; i < start.weights.length; i++) if (start.weights[i] !== end.weights[i]) changed++
    expect(changed).toBeGreaterThan(start.weights.length / 2)
    expect(end.loss).toBeLessThan(start.loss - 0.1)
    loop.dispose()
    loop.model.dispose()
  })
})

describe('global noise follows the reference by default: on for BERT, off for GPT', () => {
  /** The token embedding at the end of the first stage and right after growth. */
  class EmbeddingProbe implements TrainingPlugin {
    readonly name = 'embedding-probe'
    before: { shape: number[]; data: Float32Array } | null = null
    after: { shape: number[]; data: Float32Array } | null = null
    async afterStage(ctx: TrainingContext, stage: StagePlan): Promise<void> {
      if (stage.index === 0) this.before = (await ctx.model.readWeights())['embed.token']!
    }
    async optimizerReady(ctx: TrainingContext, stage: StagePlan): Promise<void> {
      if (stage.index === 1) this.after = (await ctx.model.readWeights())['embed.token']!
    }
  }

  for (const kind of ['bert', 'gpt'] as const) {
    it(`${kind}: the original embedding units ${kind === 'bert' ? 'get' : 'keep'} noise at growth when the config leaves globalNoise unset`, async () => {
      const config = elleConfig(kind, 2, { growth: { mode: 'elle', noise: 0.01, optimizer: 'reset', rampSteps: 10 } } as Partial<RunConfig>)
      expect(config.growth.globalNoise).toBeUndefined()
      const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 2 })
      const probe = new EmbeddingProbe()
      const loop = new TrainingLoop({ config, model, data, plugins: [...methodPlugins(config), probe] })
      expect(await loop.run()).toBe(true)
      const [vocab, d] = probe.before!.shape as [number, number]
      const D = probe.after!.shape[1]!
      expect(D).toBe(2 * d)
      // the embedding is copied, not split, so only global noise moves its original columns
      let maxDiff = 0
      for (let v = 0; v < vocab; v++) for (let j = 0; j < d; j++) maxDiff = Math.max(maxDiff, Math.abs(probe.after!.data[v * D + j]! - probe.before!.data[v * d + j]!))
      if (kind === 'bert') expect(maxDiff).toBeGreaterThan(1e-3)
      else expect(maxDiff).toBe(0)
      loop.dispose()
      loop.model.dispose()
    })
  }
})

describe('resuming inside a stage from an optimizer state without a schedule counter (older checkpoints)', () => {
  it('reads the learning rate at the step in the stage, not at the carried bias-correction count', async () => {
    const config = tinyConfig('gpt', { stages: [{ domain: 'alpha', steps: 20 }] })
    const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 2 })
    const adam = new AdamW(model.params)
    const saved = await adam.readState()
    adam.dispose()
    delete saved.scheduleStep
    saved.step = 45 // a grown optimizer's count from earlier phases: past this stage's 20 steps
    const probe = new PhaseProbe()
    const state = { ...initialLoopState(), stepInStage: 5, globalStep: 45 }
    const loop = new TrainingLoop({ config, model, data, plugins: [probe], state, optimizerState: saved })
    expect(await loop.run()).toBe(true)
    const schedule = { peak: config.training.lr, warmupSteps: Math.round(config.training.warmupFraction * 20), totalSteps: 20 }
    expect(probe.lrs.get(0)![0]).toBeCloseTo(learningRate(5, schedule), 12)
    expect(probe.lrs.get(0)).toHaveLength(15)
    loop.dispose()
    loop.model.dispose()
  })
})
