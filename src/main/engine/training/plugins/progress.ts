// Progress for people: where the run is, its loss, throughput and an ETA, at most a few times a second.
import type { RunProgress } from '../../../../shared/contract'
import type { StepRecord, TrainingContext, TrainingPlugin, ValidationReport } from '../loop'

export class ProgressPlugin implements TrainingPlugin {
  readonly name = 'progress'
  private tokensPerS = 0
  private lastEmit = 0
  private lastValidation: RunProgress['validation'] = null

  constructor(
    private readonly runId: number,
    private readonly emit: (progress: RunProgress) => void,
    private readonly minIntervalMs = 250
  ) {}

  afterStep(ctx: TrainingContext, r: StepRecord): void {
    const instant = r.tokens / Math.max(r.stepSeconds, 1e-9)
    // exponential average: steady ETA without hiding a real slowdown for long
    this.tokensPerS = this.tokensPerS === 0 ? instant : 0.9 * this.tokensPerS + 0.1 * instant
    const now = Date.now()
    const last = r.stepInStage === r.stage.steps
    if (!last && now - this.lastEmit < this.minIntervalMs) return
    this.lastEmit = now
    this.emit(this.snapshot(ctx, r))
  }

  afterValidation(ctx: TrainingContext, report: ValidationReport): void {
    this.lastValidation = { step: report.step, ppl: Object.fromEntries(report.domains.map((d) => [d.domain, d.ppl])) }
  }

  snapshot(ctx: TrainingContext, r: StepRecord): RunProgress {
    const remaining = ctx.totalSteps - r.step
    const tokensPerStep = r.tokens
    return {
      runId: this.runId,
      stage: r.stage.stage,
      stages: ctx.config.stages.length,
      phase: r.stage.kind,
      domain: r.stage.domain,
      step: r.step,
      totalSteps: ctx.totalSteps,
      stepInStage: r.stepInStage,
      stageSteps: r.stage.steps,
      loss: r.loss,
      lr: r.lr,
      tokensPerS: this.tokensPerS,
      tokensSeen: r.tokensSeen,
      wallS: r.wallS,
      etaS: this.tokensPerS > 0 ? (remaining * tokensPerStep) / this.tokensPerS : null,
      validation: this.lastValidation
    }
  }
}
