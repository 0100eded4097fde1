// Memory replay (ELLE §7): each update swaps its last r micro-batches for micro-batches from earlier
// domains' memories, r = floor(ratio x K + u) with u uniform, so on average `ratio` of the micro-batches
// are replayed. The domain of each replayed micro-batch is drawn uniformly or by the reference's adaptive
// rule: weight by validation-loss decrease per replayed token, so replay goes where it helps most.
// As in the reference (train.py, `train`: `if cur > 0 and len(args.last_ppl) < cur: last_ppl = [0]*cur;
// ppl_decreased = [1]*cur`), each training phase starts from uniform weights and an empty loss history;
// a warm-up (FRW) continues the history of the training phase before it, whose domains it replays.
import { unitHash } from '../data'
import { z } from 'zod'
import type { MicroBatch, StagePlan, TrainingContext, TrainingPlugin, ValidationReport } from '../training/plugin-api'

const perDomain = () => z.record(z.string(), z.number())
/** the adaptive rule's weights, and the loss and replayed tokens since the last validation, by domain */
const ReplayState = z.object({ weights: perDomain(), lastLoss: perDomain(), tokensSince: perDomain() }).strict()
type ReplayState = z.infer<typeof ReplayState>

export class ReplayPlugin implements TrainingPlugin {
  readonly name = 'replay'
  private state: ReplayState = { weights: {}, lastLoss: {}, tokensSince: {} }
  /** replayed micro-batches per domain, for inspection and tests */
  readonly replayed = new Map<string, number>()

  constructor(private readonly seed: number) {}

  /** Domains whose memories this phase may replay: earlier domains, never the one being learned. */
  static sources(ctx: TrainingContext, stage: StagePlan): string[] {
    const earlier = ctx.stages.filter((s) => s.kind === 'train' && s.stage < stage.stage).map((s) => s.domain)
    const unique = [...new Set(earlier)]
    // a warm-up recovers on the previous domain and replays the ones before it
    return unique.filter((d) => d !== stage.domain)
  }

  /** A new training phase (not a resumed one, not a warm-up) forgets the loss history and weights of the last. */
  beforeStage(_ctx: TrainingContext, stage: StagePlan, resumed: boolean): void {
    if (stage.kind === 'train' && !resumed) this.state = { weights: {}, lastLoss: {}, tokensSince: {} }
  }

  weightOf(domain: string): number {
    return this.state.weights[domain] ?? 1
  }

  composeUpdate(ctx: TrainingContext, stage: StagePlan, micro: MicroBatch[]): MicroBatch[] {
    const sources = ReplayPlugin.sources(ctx, stage)
    if (sources.length === 0 || stage.replay.ratio === 0) return micro
    const step = ctx.state.globalStep
    const r = Math.min(micro.length, Math.floor(stage.replay.ratio * micro.length + unitHash(`replay-count/${step}`, this.seed)))
    if (r === 0) return micro
    const out = micro.slice(0, micro.length - r)
    for (let k = 0; k < r; k++) {
      const domain = this.draw(sources, stage, unitHash(`replay-domain/${step}/${k}`, this.seed))
      const batch = ctx.nextMemoryBatch(domain)
      out.push({ domain, batch })
      this.replayed.set(domain, (this.replayed.get(domain) ?? 0) + 1)
      this.state.tokensSince[domain] = (this.state.tokensSince[domain] ?? 0) + batch.batchSize * batch.seqLen
    }
    return out
  }

  private draw(sources: readonly string[], stage: StagePlan, u: number): string {
    if (stage.replay.weights === 'uniform') return sources[Math.min(sources.length - 1, Math.floor(u * sources.length))]!
    const weights = sources.map((d) => this.weightOf(d))
    const total = weights.reduce((a, b) => a + b, 0)
    let target = u * total
    for (let i = 0; i < sources.length; i++) {
      target -= weights[i]!
      if (target < 0) return sources[i]!
    }
    return sources[sources.length - 1]!
  }

  /** The reference's `ppl_decreased` rule, recomputed at every validation. */
  afterValidation(ctx: TrainingContext, report: ValidationReport): void {
    const stage = report.stage
    if (stage.replay.weights !== 'adaptive') return
    const sources = ReplayPlugin.sources(ctx, stage)
    if (sources.length === 0) return
    const loss = new Map(report.domains.map((d) => [d.domain, d.loss]))
    const next: Record<string, number> = {}
    for (const d of sources) {
      const now = loss.get(d)
      const last = this.state.lastLoss[d]
      const tokens = this.state.tokensSince[d] ?? 0
      next[d] = last !== undefined && now !== undefined && tokens > 0 ? (last - now) / tokens : 1
      if (now !== undefined) this.state.lastLoss[d] = now
    }
    // Domains being forgotten (no decrease) get the largest weight early in a phase and in warm-up, ~0 late.
    const max = Math.max(...Object.values(next))
    const early = stage.kind === 'frw' || ctx.state.stepInStage < stage.steps / 2
    for (const d of sources) {
      if (next[d]! <= 0) next[d] = early ? max : 0
      next[d] = Math.max(next[d]!, 1e-9)
    }
    this.state.weights = next
    this.state.tokensSince = {}
  }

  saveState(): ReplayState {
    return structuredClone(this.state)
  }

  readonly stateSchema = ReplayState

  loadState(state: ReplayState): void {
    this.state = structuredClone(state)
  }
}
