// ELLE in the loop: growth between stages preserves the function in exact mode, the masks ramp and go
// away, the optimizer can grow with the weights, and the run keeps training afterwards.
import { beforeAll, describe, expect, it } from 'vitest'
import { GrowthPlugin } from '../../../src/main/engine/methods/growth'
import { ReplayPlugin } from '../../../src/main/engine/methods/replay'
import { TransformerModel } from '../../../src/main/engine/model'
import type { RunConfig } from '../../../src/main/engine/training/config'
import type { RunData } from '../../../src/main/engine/training/data'
import { TrainingLoop, type StagePlan, type TrainingContext, type TrainingPlugin, type ValidationReport } from '../../../src/main/engine/training/loop'
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
