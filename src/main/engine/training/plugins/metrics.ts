// Writes the run's curves to the store in batches: per-update loss, learning rate, gradient norm and
// throughput; per validation the perplexity of every seen domain, AP, geometric AP and AP+.
import type { ExperimentStore, MetricPoint } from '../../store/store'
import { BusyTracker, busyPolicy, whenStoreFree, type BusyPolicy } from '../../store/busy'
import { averagePerplexity, forgettingAP, geometricAveragePerplexity } from '../../metrics/lifelong'
import type { StagePlan, StepRecord, TrainingContext, TrainingPlugin, ValidationReport } from '../loop'
import { pplHiSeries, pplLoSeries, pplSeries, SERIES, valDocsSeries, valLossSeries, valTokensSeries, type PhaseRef } from '../../../../shared/metrics'
import { lifelongIntervals, type DomainDocs } from '../../../../shared/stats'

/** A domain's per-document validation losses, as checkpoints keep them (the AP+ reference of its interval). */
export type SavedDocs = { loss: number[]; tokens: number[] }

const FLUSH_EVERY = 500

export class MetricsPlugin implements TrainingPlugin {
  readonly name = 'metrics'
  private buffer: MetricPoint[] = []
  private readonly tracker: BusyTracker
  /** PPL of each domain at the end of its own stage: the reference of AP+ */
  private readonly endOfStagePpl = new Map<string, number>()
  /** the same validations per document, so AP+'s interval resamples the same documents at both ends */
  private readonly endOfStageDocs = new Map<string, SavedDocs>()

  constructor(
    private readonly store: ExperimentStore,
    private readonly runId: number,
    initialReference: Record<string, number> = {},
    /** the process that owns the run: points are only written while it does */
    private readonly owner?: string,
    private readonly busy: BusyPolicy = busyPolicy(),
    initialReferenceDocs: Record<string, SavedDocs> = {}
  ) {
    this.tracker = new BusyTracker(store.path, busy)
    for (const [domain, ppl] of Object.entries(initialReference)) this.endOfStagePpl.set(domain, ppl)
    for (const [domain, docs] of Object.entries(initialReferenceDocs)) this.endOfStageDocs.set(domain, docs)
  }

  /** The per-document references (checkpoints keep them beside `reference`). */
  get referenceDocs(): Record<string, SavedDocs> {
    return Object.fromEntries(this.endOfStageDocs)
  }

  /** What a resumed run needs to compute AP+ exactly as if it had never stopped. */
  get reference(): Record<string, number> {
    return Object.fromEntries(this.endOfStagePpl)
  }

  private point(ctx: TrainingContext, phase: PhaseRef, name: string, value: number): void {
    const s = ctx.state
    this.buffer.push({ runId: this.runId, phase, step: s.globalStep, tokensSeen: s.tokensSeen, wallS: s.wallS, flops: s.flops, name, value })
  }

  beforeStage(ctx: TrainingContext, stage: StagePlan, resumed: boolean): void {
    // a stage continued from a checkpoint already has its size recorded at its first step
    if (resumed) return
    this.point(ctx, phaseOf(stage), SERIES.params, ctx.model.paramCount())
  }

  afterStep(ctx: TrainingContext, r: StepRecord): void {
    const phase = phaseOf(r.stage)
    this.point(ctx, phase, SERIES.loss, r.loss)
    this.point(ctx, phase, SERIES.lr, r.lr)
    this.point(ctx, phase, SERIES.gradNorm, r.gradNorm)
    this.point(ctx, phase, SERIES.tokensPerS, r.tokens / Math.max(r.stepSeconds, 1e-9))
    // the regularizer's share of the objective (EWC, MAS), so its pull can be seen beside the loss
    if (r.penalty !== 0) this.point(ctx, phase, SERIES.penalty, r.penalty)
    if (this.buffer.length >= FLUSH_EVERY) this.flush()
  }

  afterValidation(ctx: TrainingContext, report: ValidationReport): void {
    const phase = phaseOf(report.stage)
    const current = new Map<string, number>()
    for (const d of report.domains) {
      this.point(ctx, phase, pplSeries(d.domain), d.ppl)
      this.point(ctx, phase, valLossSeries(d.domain), d.loss)
      current.set(d.domain, d.ppl)
    }
    this.point(ctx, phase, SERIES.ap, averagePerplexity([...current.values()]))
    this.point(ctx, phase, SERIES.apGeo, geometricAveragePerplexity(report.domains.map((d) => d.loss)))
    const plus = forgettingAP(current, this.endOfStagePpl, report.stage.domain)
    if (plus !== null) this.point(ctx, phase, SERIES.apPlus, plus)
    this.intervals(ctx, phase, report)
    if (report.endOfStage) {
      this.endOfStagePpl.set(report.stage.domain, current.get(report.stage.domain)!)
      const own = report.domains.find((d) => d.domain === report.stage.domain)
      if (own?.docLoss && own.docTokens) this.endOfStageDocs.set(own.domain, { loss: own.docLoss, tokens: own.docTokens })
    }
    this.flush()
  }

  /** 95% bootstrap intervals over validation documents (src/shared/stats.ts), when every domain has its documents. */
  private intervals(ctx: TrainingContext, phase: PhaseRef, report: ValidationReport): void {
    const started = performance.now()
    const current = new Map<string, DomainDocs>()
    for (const d of report.domains) {
      if (!d.docLoss || !d.docTokens) return
      current.set(d.domain, { loss: d.docLoss, tokens: d.docTokens })
      this.point(ctx, phase, valTokensSeries(d.domain), d.tokens)
      this.point(ctx, phase, valDocsSeries(d.domain), d.docLoss.length)
    }
    // a reference over other documents (a run resumed across a change of the validation set) gives no AP+ interval
    const reference = new Map([...this.endOfStageDocs].filter(([d, docs]) => current.get(d)?.loss.length === docs.loss.length))
    const ci = lifelongIntervals({ current, reference, currentDomain: report.stage.domain }, { seed: ctx.state.globalStep })
    for (const [domain, i] of Object.entries(ci.ppl)) {
      this.point(ctx, phase, pplLoSeries(domain), i.lo)
      this.point(ctx, phase, pplHiSeries(domain), i.hi)
    }
    this.point(ctx, phase, SERIES.apLo, ci.ap.lo)
    this.point(ctx, phase, SERIES.apHi, ci.ap.hi)
    this.point(ctx, phase, SERIES.apGeoLo, ci.apGeo.lo)
    this.point(ctx, phase, SERIES.apGeoHi, ci.apGeo.hi)
    if (ci.apPlus && forgettingAP(new Map(report.domains.map((d) => [d.domain, d.ppl])), this.endOfStagePpl, report.stage.domain) !== null) {
      this.point(ctx, phase, SERIES.apPlusLo, ci.apPlus.lo)
      this.point(ctx, phase, SERIES.apPlusHi, ci.apPlus.hi)
    }
    const evalSeconds = report.domains.reduce((s, d) => s + (d.seconds ?? 0), 0) + (performance.now() - started) / 1000
    this.point(ctx, phase, SERIES.evalS, evalSeconds)
  }

  async afterRun(): Promise<void> {
    await this.flushNow()
  }

  /**
   * Write the buffered points if the store lets us now; while another process holds it locked they stay in
   * memory (the next flush writes them; a point replaces its series' step, so nothing doubles). Only a lock
   * held past the policy's timeout is an error.
   */
  flush(): void {
    if (this.buffer.length === 0) return
    const points = this.buffer
    if (this.tracker.attempt(() => this.store.insertMetrics(points, this.owner))) this.buffer = this.buffer.slice(points.length)
  }

  /** Write every buffered point, waiting out a locked store (before a checkpoint claims their step). */
  async flushNow(): Promise<void> {
    if (this.buffer.length === 0) return
    const points = this.buffer
    await whenStoreFree(this.store.path, this.busy, () => this.store.insertMetrics(points, this.owner))
    this.buffer = this.buffer.slice(points.length)
  }
}

/** The phase a point belongs to, as stored: the loop phase's kind, its configured stage and its domain. */
export const phaseOf = (stage: { kind: string; stage: number; domain: string }): PhaseRef => ({ kind: stage.kind, stage: stage.stage, domain: stage.domain })
