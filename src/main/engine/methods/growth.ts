// ELLE's function-preserving model expansion as a plugin: as a stage that asks for growth begins, the
// model is widened and deepened (src/main/engine/growth), the loop swaps it in, and Adam is either reset
// (the reference) or grown along the same index maps. While masks on new units ramp from 0 to 1
// (exact mode), every update advances the ramp.
import { advanceRamp, applyGrowthState, growModel, growOptimizerState, growthStateToJson, initialGrowthState, parseGrowthState, type GrowthState } from '../growth'
import { TransformerModel } from '../model'
import { hashSeed } from '../model/rng'
import { z } from 'zod'
import type { GrowthSettings } from '../training/config'
import type { StagePlan, StepRecord, TrainingContext, TrainingPlugin } from '../training/plugin-api'

export class GrowthPlugin implements TrainingPlugin {
  readonly name = 'growth'
  private state: GrowthState | null = null
  /** parameter counts before and after each growth, for logs and tests */
  readonly events: Array<{ phase: number; before: number; after: number }> = []

  constructor(
    private readonly settings: GrowthSettings,
    private readonly seed: number
  ) {}

  async beforeStage(ctx: TrainingContext, stage: StagePlan, resumed: boolean): Promise<void> {
    this.state ??= initialGrowthState(ctx.model.config)
    // A resumed phase already has its grown model (from the checkpoint); only a fresh phase grows.
    if (stage.grow && !resumed) {
      const before = ctx.model.paramCount()
      const grown = growModel(ctx.model.config, await ctx.model.readWeights(), {
        addLayers: stage.grow.layers,
        addHeads: stage.grow.heads,
        addFfn: stage.grow.ffn,
        mode: this.settings.mode,
        noise: this.settings.mode === 'elle' ? this.settings.noise : 0,
        globalNoise: this.settings.mode === 'elle' ? this.settings.globalNoise : undefined,
        seed: hashSeed(this.seed, `grow/${stage.stage}`),
        state: this.state,
        rampSteps: this.settings.rampSteps
      })
      const previousOptimizer = ctx.previousOptimizerState
      const model = new TransformerModel(grown.config)
      model.setWeights(grown.weights)
      ctx.replaceModel(model)
      this.state = grown.state
      if (this.settings.optimizer === 'grow' && previousOptimizer) ctx.carriedOptimizerState = growOptimizerState(previousOptimizer, grown.maps)
      this.events.push({ phase: stage.index, before, after: model.paramCount() })
    } else if (this.settings.optimizer === 'grow' && !resumed) ctx.carriedOptimizerState = ctx.previousOptimizerState
    applyGrowthState(ctx.model, this.state)
  }

  afterStep(ctx: TrainingContext, _record: StepRecord): void {
    if (!this.state?.ramp) return
    this.state = advanceRamp(this.state)
    applyGrowthState(ctx.model, this.state)
  }

  /** null before the first stage; the growth module's own parser (parseGrowthState) checks the rest field by field */
  readonly stateSchema = z.union([z.null(), z.object({ version: z.number() }).loose()])

  saveState(): unknown {
    return this.state ? growthStateToJson(this.state) : null
  }

  loadState(state: unknown): void {
    this.state = state === null ? null : parseGrowthState(state)
  }
}
