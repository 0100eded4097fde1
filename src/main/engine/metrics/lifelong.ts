// Lifelong pre-training metrics over the perplexity matrix PPL[t][j] (project decisions, elle-method §16).
import { pplDomain, SERIES, type PhaseRef } from '../../../shared/metrics'

/** AP(t): arithmetic mean of the current perplexities of the domains seen so far. */
export function averagePerplexity(ppl: readonly number[]): number {
  return ppl.reduce((a, b) => a + b, 0) / ppl.length
}

/** Geometric AP: exp of the mean validation loss (the paper's exact form is unverified, so both are kept). */
export function geometricAveragePerplexity(losses: readonly number[]): number {
  return Math.exp(losses.reduce((a, b) => a + b, 0) / losses.length)
}

/**
 * AP+(t): mean over previous domains j of PPL[t][j] - PPL[end of stage j][j]; lower is less forgetting.
 * `reference` holds each domain's perplexity at the end of its own stage. Undefined (null) without any
 * previous domain, i.e. during the first stage.
 */
export function forgettingAP(current: ReadonlyMap<string, number>, reference: ReadonlyMap<string, number>, currentDomain: string): number | null {
  const increases: number[] = []
  for (const [domain, ppl] of current) {
    if (domain === currentDomain) continue
    const atEnd = reference.get(domain)
    if (atEnd !== undefined) increases.push(ppl - atEnd)
  }
  return increases.length === 0 ? null : increases.reduce((a, b) => a + b, 0) / increases.length
}

/** A metric point as the store returns it (the fields this module reads). */
interface Point {
  name: string
  step: number
  value: number
  wallS: number
  flops: number
  phase: PhaseRef
}

export interface CurvePoint {
  step: number
  value: number
  wallS: number
  flops: number
}

/** Everything lifelong about one run, from its stored metric points. */
export interface LifelongSummary {
  /** domains in the order they were first validated (stream order) */
  domains: string[]
  /** validation steps; row t of `ppl` belongs to steps[t] */
  steps: number[]
  /** PPL[t][j]; null before domain j was seen */
  ppl: Array<Array<number | null>>
  ap: CurvePoint[]
  apGeo: CurvePoint[]
  apPlus: CurvePoint[]
  /** parameters at the start of each phase */
  params: Array<{ phase: PhaseRef; step: number; value: number }>
  final: { ap: number | null; apGeo: number | null; apPlus: number | null; wallS: number | null; flops: number | null }
}

export function lifelongSummary(points: readonly Point[]): LifelongSummary {
  const domains: string[] = []
  const byStep = new Map<number, Map<string, number>>()
  const curve = (name: string): CurvePoint[] =>
    points
      .filter((p) => p.name === name)
      .map((p) => ({ step: p.step, value: p.value, wallS: p.wallS, flops: p.flops }))
      .sort((a, b) => a.step - b.step)
  for (const p of [...points].sort((a, b) => a.step - b.step)) {
    const domain = pplDomain(p.name)
    if (domain === null) continue
    if (!domains.includes(domain)) domains.push(domain)
    let row = byStep.get(p.step)
    if (!row) byStep.set(p.step, (row = new Map()))
    row.set(domain, p.value)
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b)
  const ap = curve(SERIES.ap)
  const apPlus = curve(SERIES.apPlus)
  const apGeo = curve(SERIES.apGeo)
  return {
    domains,
    steps,
    ppl: steps.map((s) => domains.map((d) => byStep.get(s)!.get(d) ?? null)),
    ap,
    apGeo,
    apPlus,
    params: points.filter((p) => p.name === SERIES.params).map((p) => ({ phase: p.phase, step: p.step, value: p.value })),
    final: {
      ap: ap.at(-1)?.value ?? null,
      apGeo: apGeo.at(-1)?.value ?? null,
      apPlus: apPlus.at(-1)?.value ?? null,
      wallS: ap.at(-1)?.wallS ?? null,
      flops: ap.at(-1)?.flops ?? null
    }
  }
}
