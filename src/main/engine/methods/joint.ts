// Joint training (the multi-task upper bound) and training from scratch (the compute reference): both
// train a model at the run's final size (the shape ELLE's schedule grows to) from the first update, and
// draw each micro-batch's domain uniformly from the phase's domains (their phases, registry.ts: joint,
// every domain seen so far; scratch, the whole stream in one phase).
import { unitHash } from '../data'
import { makeModelConfig, TransformerModel } from '../model'
import { finalModelShape } from '../training/config'
import type { MicroBatch, StagePlan, TrainingContext, TrainingPlugin } from '../training/plugin-api'

export class MixturePlugin implements TrainingPlugin {
  readonly name = 'mixture'
  /** micro-batches drawn per domain, for inspection and tests */
  readonly drawn = new Map<string, number>()

  constructor(private readonly seed: number) {}

  composeUpdate(ctx: TrainingContext, stage: StagePlan, micro: MicroBatch[]): MicroBatch[] {
    if (stage.kind !== 'train' || stage.domains.length < 2) return micro
    const step = ctx.state.globalStep
    return micro.map((m, k) => {
      const u = unitHash(`mixture/${step}/${k}`, this.seed)
      const domain = stage.domains[Math.min(stage.domains.length - 1, Math.floor(u * stage.domains.length))]!
      this.drawn.set(domain, (this.drawn.get(domain) ?? 0) + 1)
      // the loop already drew the phase's own domain; any other is read from that domain's training data
      return domain === m.domain ? m : { domain, batch: ctx.nextBatch(domain) }
    })
  }
}

export class FinalSizePlugin implements TrainingPlugin {
  readonly name = 'final-size'

  constructor(private readonly seed: number) {}

  beforeStage(ctx: TrainingContext, stage: StagePlan, resumed: boolean): void {
    // A resumed run restores the final-size model from its checkpoint.
    if (stage.index !== 0 || resumed) return
    const current = ctx.model.config
    const final = makeModelConfig(current.kind, { ...finalModelShape(ctx.config), vocabSize: current.vocabSize, maxLength: current.maxLength })
    if (current.layers === final.layers && current.heads === final.heads && current.ffn === final.ffn) return
    ctx.replaceModel(new TransformerModel(final, { seed: this.seed }))
  }
}
