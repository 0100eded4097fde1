// AP, AP+ and geometric AP at each stage end of a run, with their 95% bootstrap intervals: the paper's
// per-stage table (curves against tokens and FLOPs are the series panel's).
import type { ComparedRun, CurvePoint } from '../contract'
import type { Interval } from '../stats'

export interface StageAp {
  stage: number | null
  domain: string | null
  step: number
  /** tokens trained on (null: not carried by this comparison) */
  tokens: number | null
  wallS: number
  flops: number
  ap: number | null
  apPlus: number | null
  apGeo: number | null
  ci: { ap: Interval | null; apPlus: Interval | null; apGeo: Interval | null }
}

const at = (curve: readonly CurvePoint[], step: number): number | null => curve.find((p) => p.step === step)?.value ?? null

/** One row per stage end (the last validation of each training phase), in step order. */
export function stageAp(run: Pick<ComparedRun, 'matrix' | 'ap' | 'apPlus' | 'apGeo' | 'intervals'>): StageAp[] {
  return run.matrix
    .filter((r) => r.stageEnd)
    .map((r) => {
      const ci = run.intervals?.find((c) => c.step === r.step)
      return {
        stage: r.stage,
        domain: r.domain,
        step: r.step,
        tokens: r.tokens ?? null,
        wallS: r.wallS,
        flops: r.flops,
        ap: at(run.ap, r.step),
        apPlus: at(run.apPlus, r.step),
        apGeo: at(run.apGeo, r.step),
        ci: { ap: ci?.ap ?? null, apPlus: ci?.apPlus ?? null, apGeo: ci?.apGeo ?? null }
      }
    })
}
