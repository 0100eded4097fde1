// Re-warming and re-decaying the learning rate per stage (Ibrahim et al. 2024, "Simple and Scalable
// Strategies to Continually Pre-train Large Language Models"): each new domain starts a fresh schedule
// that warms up to `peakLr` over `warmupFraction` of the stage, then decays to minLrRatio × peakLr at its
// end; replay (the ReplayPlugin) mixes in earlier domains. The paper decays with a cosine; this loop's
// schedule is linear (optim.ts), which docs/baselines.md notes.
import type { LrSchedule } from '../model'
import type { MethodOf } from '../training/config'
import type { StagePlan, TrainingContext, TrainingPlugin } from '../training/plugin-api'

export class RewarmPlugin implements TrainingPlugin {
  readonly name = 'rewarm'

  constructor(private readonly settings: MethodOf<'rewarm'>) {}

  adjustSchedule(ctx: TrainingContext, stage: StagePlan, schedule: LrSchedule): LrSchedule {
    const peak = this.settings.peakLr ?? ctx.config.training.lr
    const warmup = this.settings.warmupFraction ?? ctx.config.training.warmupFraction
    return { ...schedule, peak, warmupSteps: Math.round(warmup * stage.steps), totalSteps: stage.steps, end: this.settings.minLrRatio * peak }
  }
}
