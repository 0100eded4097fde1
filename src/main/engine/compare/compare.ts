// Compare lifelong runs of one stream: AP / AP+ / geometric AP over time, the perplexity matrices, cost per
// phase, downstream scores, and the compute an ELLE run saved against every other run (docs/compare.md).
import type { ComparedRun, ComputeSaved, CurvePoint, MethodDifference, RunComparison, Transfer } from '../../../shared/contract'
import { jobResult } from '../../../shared/jobs'
import { differenceVerdict, pairedDifference, type Interval } from '../../../shared/stats'
import { lifelongSummary } from '../metrics/lifelong'
import { settingsKey, type EvaluationInput, type ExperimentStore, type MetricPoint } from '../store/store'
import { formatFlops, formatPct, formatSeconds, formatValue } from '../../../shared/plot'
import { PHASE_KINDS, phaseKey, pplDomain, pplHiSeries, pplLoSeries, pplSeries, samePhase, SERIES, valDocsSeries, valTokensSeries, type PhaseRef } from '../../../shared/metrics'

/** A comparison that cannot be made (different streams, duplicate ids, a run without a stream). */
export class CompareError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CompareError'
  }
}

/** What the comparison reads from an experiment config (kept loose: configs of every method and version). */
export interface ConfigFacts {
  name: string | null
  stream: string[] | null
  method: string
  methodSource: 'config' | 'inferred'
  elle: boolean
  /** training.seed (0 when the config leaves it to the default) */
  seed: number | null
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const positive = (v: unknown): boolean => typeof v === 'number' && v > 0

/** Stream, method and ELLE-ness of a config. `method.name` wins when present; otherwise growth means ELLE. */
export function configFacts(config: unknown): ConfigFacts {
  const c = isRecord(config) ? config : {}
  const stages = Array.isArray(c.stages) ? c.stages : null
  const stream = stages && stages.every((s) => isRecord(s) && typeof s.domain === 'string') ? stages.map((s) => (s as { domain: string }).domain) : null
  const grows = (stages ?? []).some((s) => isRecord(s) && isRecord(s.grow) && (positive(s.grow.layers) || positive(s.grow.heads) || positive(s.grow.ffn)))
  const replays = (isRecord(c.replay) && positive(c.replay.ratio)) || (stages ?? []).some((s) => isRecord(s) && isRecord(s.replay) && positive(s.replay.ratio))
  const configured = isRecord(c.method) && typeof c.method.name === 'string' && c.method.name.length > 0 ? c.method.name : null
  const name = typeof c.name === 'string' ? c.name : null
  const seed = isRecord(c.training) && Number.isInteger(c.training.seed) ? (c.training.seed as number) : isRecord(c.training) && c.training.seed !== undefined ? null : 0
  if (configured !== null) return { name, stream, method: configured, methodSource: 'config', elle: configured.toLowerCase() === 'elle', seed }
  return { name, stream, method: grows ? 'elle' : replays ? 'er' : 'naive', methodSource: 'inferred', elle: grows, seed }
}

/** The first field where two streams differ, as `stages.N.domain is "a" vs "b"`; null when equal. */
export function streamDifference(a: readonly string[], b: readonly string[]): string | null {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      const show = (v: string | undefined, n: number) => (v === undefined ? `absent (${n} stages)` : JSON.stringify(v))
      return `stages.${i}.domain is ${show(a[i], a.length)} vs ${show(b[i], b.length)}`
    }
  }
  return null
}

/** Where an AP curve first reaches a target (at or below it), interpolating linearly between validations. */
export interface Reach {
  reached: boolean
  wallS: number | null
  flops: number | null
  step: number | null
  /** the lowest value among the eligible points (for "not reached") */
  best: number | null
}

/**
 * Walk `curve` in step order and return the first point where value <= target. Between the last point above
 * the target and the first at or below it, wall seconds, FLOPs and steps are interpolated linearly in the
 * value. A first eligible point already at or below the target is the crossing itself.
 */
export function firstReach(curve: readonly CurvePoint[], target: number): Reach {
  let prev: CurvePoint | null = null
  let best: number | null = null
  for (const p of [...curve].sort((a, b) => a.step - b.step)) {
    best = best === null ? p.value : Math.min(best, p.value)
    if (p.value <= target) {
      if (prev === null) return { reached: true, wallS: p.wallS, flops: p.flops, step: p.step, best }
      const f = (prev.value - target) / (prev.value - p.value)
      const lerp = (a: number, b: number) => a + f * (b - a)
      return { reached: true, wallS: lerp(prev.wallS, p.wallS), flops: lerp(prev.flops, p.flops), step: lerp(prev.step, p.step), best }
    }
    prev = p
  }
  return { reached: false, wallS: null, flops: null, step: null, best }
}

function phasesOf(points: readonly MetricPoint[]): ComparedRun['phases'] {
  const byPhase = new Map<
    string,
    { phase: PhaseRef; first: number; startStep: number; endStep: number; maxWall: number; maxFlops: number; minWall: number; minFlops: number; params: number | null }
  >()
  points.forEach((p, i) => {
    const key = phaseKey(p.phase)
    let g = byPhase.get(key)
    if (!g)
      byPhase.set(
        key,
        (g = { phase: p.phase, first: i, startStep: p.step, endStep: p.step, maxWall: p.wallS, maxFlops: p.flops, minWall: p.wallS, minFlops: p.flops, params: null })
      )
    g.startStep = Math.min(g.startStep, p.step)
    g.endStep = Math.max(g.endStep, p.step)
    g.maxWall = Math.max(g.maxWall, p.wallS)
    g.maxFlops = Math.max(g.maxFlops, p.flops)
    g.minWall = Math.min(g.minWall, p.wallS)
    g.minFlops = Math.min(g.minFlops, p.flops)
    if (p.name === SERIES.params && g.params === null) g.params = p.value
  })
  const ordered = [...byPhase].sort(([, a], [, b]) => a.startStep - b.startStep || a.maxWall - b.maxWall || a.first - b.first)
  let wallBefore: number | null = null
  let flopsBefore: number | null = null
  return ordered.map(([, g]) => {
    // a phase costs from the end of the previous one (its `params` point is written at that moment) to its own end
    const wallStart: number = wallBefore ?? g.minWall
    const flopsStart: number = flopsBefore ?? g.minFlops
    wallBefore = g.maxWall
    flopsBefore = g.maxFlops
    return {
      kind: g.phase.kind,
      stage: g.phase.stage,
      domain: g.phase.domain,
      params: g.params,
      startStep: g.startStep,
      endStep: g.endStep,
      wallS: Math.max(0, g.maxWall - wallStart),
      flops: Math.max(0, g.maxFlops - flopsStart)
    }
  })
}

const PPL_LO = pplLoSeries('')
const PPL_HI = pplHiSeries('')

function matrixOf(points: readonly MetricPoint[], stream: readonly string[]): ComparedRun['matrix'] {
  const rows = new Map<number, { step: number; wallS: number; flops: number; tokens: number; phase: PhaseRef; ppl: Map<string, number> }>()
  const bounds = new Map<number, { lo: Map<string, number>; hi: Map<string, number> }>()
  for (const p of points) {
    // a cell's bootstrap bounds are recorded at the same step as its perplexity
    const bound = p.name.startsWith(PPL_LO) ? 'lo' : p.name.startsWith(PPL_HI) ? 'hi' : null
    if (bound !== null) {
      let b = bounds.get(p.step)
      if (!b) bounds.set(p.step, (b = { lo: new Map(), hi: new Map() }))
      b[bound].set(p.name.slice((bound === 'lo' ? PPL_LO : PPL_HI).length), p.value)
      continue
    }
    const domain = pplDomain(p.name)
    if (domain === null) continue
    let row = rows.get(p.step)
    if (!row) rows.set(p.step, (row = { step: p.step, wallS: p.wallS, flops: p.flops, tokens: p.tokensSeen, phase: p.phase, ppl: new Map() }))
    row.ppl.set(domain, p.value)
  }
  const sorted = [...rows.values()].sort((a, b) => a.step - b.step)
  return sorted.map((r, i) => {
    const next = sorted[i + 1]
    const b = bounds.get(r.step)
    const ci = stream.map((d) => {
      const lo = b?.lo.get(d)
      const hi = b?.hi.get(d)
      return lo === undefined || hi === undefined || !r.ppl.has(d) ? null : { lo, hi }
    })
    return {
      step: r.step,
      wallS: r.wallS,
      flops: r.flops,
      kind: r.phase.kind,
      stage: r.phase.stage,
      domain: r.phase.domain,
      // a label read before schema 5 that was not "<kind>-<stage>:<domain>" has no stage: counted as training
      stageEnd: (r.phase.kind === PHASE_KINDS.train || r.phase.stage === null) && (next === undefined || !samePhase(next.phase, r.phase)),
      tokens: r.tokens,
      ppl: stream.map((d) => r.ppl.get(d) ?? null),
      ...(ci.some((c) => c !== null) ? { ci } : {})
    }
  })
}

/** AP, AP+ and geometric AP intervals at every validation that recorded any of them. */
function intervalsOf(points: readonly MetricPoint[]): NonNullable<ComparedRun['intervals']> {
  const names: Record<string, [keyof Omit<NonNullable<ComparedRun['intervals']>[number], 'step'>, 'lo' | 'hi']> = {
    [SERIES.apLo]: ['ap', 'lo'],
    [SERIES.apHi]: ['ap', 'hi'],
    [SERIES.apPlusLo]: ['apPlus', 'lo'],
    [SERIES.apPlusHi]: ['apPlus', 'hi'],
    [SERIES.apGeoLo]: ['apGeo', 'lo'],
    [SERIES.apGeoHi]: ['apGeo', 'hi']
  }
  const bySteps = new Map<number, Record<string, { lo?: number; hi?: number }>>()
  for (const p of points) {
    const n = names[p.name]
    if (!n) continue
    let row = bySteps.get(p.step)
    if (!row) bySteps.set(p.step, (row = {}))
    ;(row[n[0]] ??= {})[n[1]] = p.value
  }
  const pick = (v: { lo?: number; hi?: number } | undefined) => (v?.lo === undefined || v.hi === undefined ? null : { lo: v.lo, hi: v.hi })
  return [...bySteps].sort(([a], [b]) => a - b).map(([step, r]) => ({ step, ap: pick(r.ap), apPlus: pick(r.apPlus), apGeo: pick(r.apGeo) }))
}

/** The run's latest finished forgetting-matrix job (accuracy), or null; a result that no longer parses is skipped. */
function transferOf(store: ExperimentStore, runId: number): Transfer | null {
  for (const job of store.listJobs({ kind: 'forgetting', status: 'finished' })) {
    if (job.params.runId !== runId || job.result === null) continue
    try {
      const r = jobResult('forgetting', job.result)
      return {
        jobId: job.id,
        domains: r.stages.map((s) => s.domain),
        tasks: r.stages.map((s) => s.task),
        R: r.accuracy.R,
        std: r.accuracy.std,
        baseline: r.accuracy.baseline,
        bwt: r.accuracy.bwt,
        fwt: r.accuracy.fwt,
        seeds: r.seeds.length
      }
    } catch {
      continue // recorded by an older version in another shape: the next older job may still read
    }
  }
  return null
}

function downstreamOf(rows: ReadonlyArray<EvaluationInput>, checkpointSteps: ReadonlyMap<number, number>): ComparedRun['downstream'] {
  const groups = new Map<string, { task: string; domain: string; metric: string; checkpointId: number | null; finetuneSteps: number | null; values: number[] }>()
  for (const e of rows) {
    if (!Number.isFinite(e.value)) continue // an undefined score (e.g. F1 without classes) has no place in a mean
    // scores made with different fine-tuning settings are different results, never one mean
    const key = JSON.stringify([e.task, e.domain, e.metric, e.checkpointId ?? null, settingsKey(e.settings)])
    let g = groups.get(key)
    const steps = e.settings?.steps
    if (!g)
      groups.set(
        key,
        (g = { task: e.task, domain: e.domain, metric: e.metric, checkpointId: e.checkpointId ?? null, finetuneSteps: typeof steps === 'number' ? steps : null, values: [] })
      )
    g.values.push(e.value)
  }
  return [...groups.values()].map((g) => {
    const n = g.values.length
    const mean = g.values.reduce((a, b) => a + b, 0) / n
    // sample standard deviation (n - 1), as the downstream module reports it; undefined for one seed
    const std = n > 1 ? Math.sqrt(g.values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : null
    const checkpointStep = g.checkpointId === null ? null : (checkpointSteps.get(g.checkpointId) ?? null)
    return { task: g.task, domain: g.domain, metric: g.metric, checkpointId: g.checkpointId, checkpointStep, finetuneSteps: g.finetuneSteps, mean, std, seeds: n }
  })
}

/** Series written at every update: only their phases' extents matter here (see readMetricsForComparison). */
const PER_STEP_SERIES: ReadonlySet<string> = new Set([SERIES.loss, SERIES.lr, SERIES.gradNorm, SERIES.tokensPerS, SERIES.penalty])

function compareOne(store: ExperimentStore, id: number, facts: ConfigFacts, stream: readonly string[]): ComparedRun {
  const run = store.getRun(id)
  const points = store.readMetricsForComparison(id, PER_STEP_SERIES)
  const summary = lifelongSummary(points)
  const matrix = matrixOf(points, stream)
  const params = points.filter((p) => p.name === SERIES.params).sort((a, b) => a.step - b.step)
  const last = matrix.at(-1)
  // the value of a series at the run's last validation (the step of its final AP)
  const finalStep = summary.ap.at(-1)?.step ?? null
  const at = (name: string): number | null => (finalStep === null ? null : (points.find((p) => p.name === name && p.step === finalStep)?.value ?? null))
  const interval = (lo: string, hi: string): Interval | null => {
    const l = at(lo)
    const h = at(hi)
    return l === null || h === null ? null : { lo: l, hi: h }
  }
  const evalS = points.filter((p) => p.name === SERIES.evalS).reduce((a, p) => a + p.value, 0)
  const wallS = points.reduce((m, p) => Math.max(m, p.wallS), 0)
  return {
    id,
    experimentName: run.experimentName,
    status: run.status,
    method: facts.method,
    methodSource: facts.methodSource,
    elle: facts.elle,
    label: `#${id} ${facts.method}`,
    matrix,
    ap: summary.ap,
    apPlus: summary.apPlus,
    apGeo: summary.apGeo,
    final: {
      ap: summary.final.ap,
      apPlus: summary.final.apPlus,
      apGeo: summary.apGeo.at(-1)?.value ?? null,
      domainsSeen: last ? last.ppl.filter((v) => v !== null).length : 0,
      ci: { ap: interval(SERIES.apLo, SERIES.apHi), apPlus: interval(SERIES.apPlusLo, SERIES.apPlusHi), apGeo: interval(SERIES.apGeoLo, SERIES.apGeoHi) }
    },
    intervals: intervalsOf(points),
    transfer: transferOf(store, id),
    seed: facts.seed,
    evaluation: {
      domains: stream.map((domain) => ({
        domain,
        ppl: at(pplSeries(domain)),
        ci: interval(pplLoSeries(domain), pplHiSeries(domain)),
        tokens: at(valTokensSeries(domain)),
        docs: at(valDocsSeries(domain))
      })),
      evalS,
      evalShare: evalS + wallS > 0 && evalS > 0 ? evalS / (evalS + wallS) : null
    },
    phases: phasesOf(points),
    totals: {
      wallS: points.reduce((m, p) => Math.max(m, p.wallS), 0),
      flops: points.reduce((m, p) => Math.max(m, p.flops), 0),
      params: params.at(-1)?.value ?? null,
      steps: points.reduce((m, p) => Math.max(m, p.step), 0)
    },
    downstream: downstreamOf(store.listEvaluations(id), new Map(store.listCheckpoints(id).map((c) => [c.id, c.step])))
  }
}

/**
 * What `elle` needed to reach `other`'s final AP. Only ELLE's validations over the same number of domains
 * as the other run's final row count (AP over fewer domains is not comparable), in step order.
 */
export function computeSaved(elle: ComparedRun, other: ComparedRun): ComputeSaved {
  const k = other.final.domainsSeen
  const target = other.final.ap
  const base = { elleRunId: elle.id, otherRunId: other.id, target, domains: k, otherWallS: other.totals.wallS, otherFlops: other.totals.flops }
  const seenAt = new Map(elle.matrix.map((r) => [r.step, r.ppl.filter((v) => v !== null).length]))
  const eligible = elle.ap.filter((p) => seenAt.get(p.step) === k)
  const who = `${elle.label} (ELLE)`
  if (target === null || k === 0) {
    return { ...base, reached: false, wallS: null, flops: null, wallFraction: null, flopsFraction: null, sentence: `${other.label} has no AP yet, so ${who} has nothing to reach.` }
  }
  const reach = firstReach(eligible, target)
  const goal = `the final AP of ${other.label} (${formatValue(target)} over ${k} domain${k === 1 ? '' : 's'})`
  if (!reach.reached) {
    const best = reach.best === null ? `it has no AP over ${k} domain${k === 1 ? '' : 's'} yet` : `its best over ${k} domain${k === 1 ? '' : 's'} was ${formatValue(reach.best)}`
    return { ...base, reached: false, wallS: null, flops: null, wallFraction: null, flopsFraction: null, sentence: `${who} did not reach ${goal}: ${best}.` }
  }
  const wallFraction = other.totals.wallS > 0 ? reach.wallS! / other.totals.wallS : null
  const flopsFraction = other.totals.flops > 0 ? reach.flops! / other.totals.flops : null
  const ci = savedInterval(eligible, elle.intervals ?? [], other)
  const share = (f: number | null, what: string, total: string) => (f === null ? `${what} (the other run recorded none)` : `${formatPct(f)} of its ${what} (${total})`)
  const saving = (f: number | null) => (f === null ? '–' : f <= 1 ? `saves ${formatPct(1 - f)}` : `needs ${formatPct(f - 1)} more`)
  return {
    ...base,
    reached: true,
    wallS: reach.wallS,
    flops: reach.flops,
    wallFraction,
    flopsFraction,
    ci,
    sentence:
      `${who} reached ${goal} after ${formatSeconds(reach.wallS!)} and ${formatFlops(reach.flops!)} FLOPs: ` +
      `${share(wallFraction, 'training wall time', formatSeconds(other.totals.wallS))} and ${share(flopsFraction, 'FLOPs', formatFlops(other.totals.flops))} ` +
      `(${saving(wallFraction)} of the wall time, ${saving(flopsFraction)} of the FLOPs)` +
      (ci?.flopsFraction
        ? `; 95% interval of the FLOPs share ${formatPct(ci.flopsFraction.lo)} to ${ci.flopsFraction.hi === null ? 'not reached' : formatPct(ci.flopsFraction.hi)}.`
        : '.')
  }
}

/**
 * The interval of the compute fractions from both runs' AP intervals: the earliest plausible crossing (ELLE's
 * lower bound reaching the other's upper bound) and the latest (ELLE's upper bound reaching the other's lower
 * bound; null when it never does). Null when either run recorded no AP interval.
 */
function savedInterval(eligible: readonly CurvePoint[], intervals: NonNullable<ComparedRun['intervals']>, other: ComparedRun): ComputeSaved['ci'] {
  const target = other.final.ci.ap
  if (target === null) return null
  const bound = (side: 'lo' | 'hi'): CurvePoint[] =>
    eligible.flatMap((p) => {
      const ci = intervals.find((c) => c.step === p.step)?.ap
      return ci ? [{ ...p, value: ci[side] }] : []
    })
  const lo = bound('lo')
  const hi = bound('hi')
  if (lo.length === 0 || hi.length === 0) return null
  const early = firstReach(lo, target.hi)
  const late = firstReach(hi, target.lo)
  if (!early.reached) return null
  const fraction = (of: 'wallS' | 'flops', total: number) => (total > 0 ? { lo: early[of]! / total, hi: late.reached ? late[of]! / total : null } : null)
  return { wallFraction: fraction('wallS', other.totals.wallS), flopsFraction: fraction('flops', other.totals.flops) }
}

/**
 * Compare runs of one stream. Reads only: refuses unknown ids (the store's not-found error), duplicate ids,
 * runs whose configs have no stream, and runs of different streams, naming the first differing field.
 */
export function compareRuns(store: ExperimentStore, runIds: readonly number[]): RunComparison {
  const plan = planComparison(store, runIds)
  return finishComparison(
    plan.stream,
    runIds.map((id, i) => compareOne(store, id, plan.facts[i]!, plan.stream))
  )
}

/**
 * The same comparison, giving the event loop a turn whenever `sliceMs` of it have passed (between two runs): the
 * process that serves the UI answers other requests, a curves redraw above all, while it compares 100 runs (half a
 * second and more) instead of after.
 */
export async function compareRunsInSlices(store: ExperimentStore, runIds: readonly number[], sliceMs = 15): Promise<RunComparison> {
  const plan = planComparison(store, runIds)
  const runs: ComparedRun[] = []
  let sliceStart = performance.now()
  for (const [i, id] of runIds.entries()) {
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      sliceStart = performance.now()
    }
    runs.push(compareOne(store, id, plan.facts[i]!, plan.stream))
  }
  return finishComparison(plan.stream, runs)
}

/** The runs' facts and their common stream, or a CompareError that names what does not fit. */
function planComparison(store: ExperimentStore, runIds: readonly number[]): { facts: ConfigFacts[]; stream: string[] } {
  if (runIds.length === 0) throw new CompareError('nothing to compare: give at least one run id')
  const seen = new Set<number>()
  for (const id of runIds) {
    if (seen.has(id)) throw new CompareError(`run ${id} is listed twice`)
    seen.add(id)
  }
  const facts = runIds.map((id) => {
    const run = store.getRun(id)
    const f = configFacts(store.getExperimentConfig(run.experimentId))
    // the stream the run recorded (runs.stream_id, schema 5); runs from before, or of no stream, fall back to their config's stages
    const recorded = run.streamId === null ? null : store.findStream(run.streamId)
    if (recorded) return { ...f, stream: recorded.domains }
    if (f.stream === null || f.stream.length === 0) throw new CompareError(`run ${id} has no stream: its experiment config has no stages with domains`)
    return f
  })
  const stream = facts[0]!.stream!
  facts.forEach((f, i) => {
    const diff = streamDifference(stream, f.stream!)
    if (diff !== null) throw new CompareError(`runs ${runIds[0]} and ${runIds[i]} have different streams: ${diff}`)
  })
  return { facts, stream }
}

function finishComparison(stream: readonly string[], runs: ComparedRun[]): RunComparison {
  const saved: ComputeSaved[] = []
  for (const elle of runs.filter((r) => r.elle)) {
    for (const other of runs) if (other.id !== elle.id) saved.push(computeSaved(elle, other))
  }
  return { stream: [...stream], runs, computeSaved: saved, differences: methodDifferences(runs), headline: { metric: 'apGeo', why: HEADLINE_WHY } }
}

/** Why the ranking uses geometric AP (docs/compare.md). */
export const HEADLINE_WHY =
  "geometric AP (exp of the mean validation loss over the seen domains): the reference records each domain's validation loss (valid_loss.pt), " +
  'and the mean of those losses, exponentiated, is this AP; it also weighs every domain alike instead of letting the highest perplexity dominate. Arithmetic AP is shown beside it.'

const METRICS = [
  { metric: 'apGeo', value: (r: ComparedRun) => r.final.apGeo, ci: (r: ComparedRun) => r.final.ci.apGeo },
  { metric: 'ap', value: (r: ComparedRun) => r.final.ap, ci: (r: ComparedRun) => r.final.ci.ap },
  { metric: 'apPlus', value: (r: ComparedRun) => r.final.apPlus, ci: (r: ComparedRun) => r.final.ci.apPlus }
] as const

/**
 * Every pair of methods, on each final metric, paired by seed: runs of the two methods with the same training
 * seed and the same number of domains seen (AP over fewer domains is another quantity). A method with two runs
 * of one seed uses the later one.
 */
export function methodDifferences(runs: readonly ComparedRun[]): MethodDifference[] {
  const methods: string[] = []
  const bySeed = new Map<string, Map<number | null, ComparedRun>>()
  for (const r of runs) {
    if (!methods.includes(r.method)) methods.push(r.method)
    let m = bySeed.get(r.method)
    if (!m) bySeed.set(r.method, (m = new Map()))
    m.set(r.seed, r)
  }
  const out: MethodDifference[] = []
  for (let i = 0; i < methods.length; i++) {
    for (let j = i + 1; j < methods.length; j++) {
      const a = bySeed.get(methods[i]!)!
      const b = bySeed.get(methods[j]!)!
      for (const m of METRICS) {
        const pairs: Array<{ seed: number | null; ra: ComparedRun; rb: ComparedRun }> = []
        for (const [seed, ra] of a) {
          const rb = b.get(seed)
          if (rb && ra.final.domainsSeen === rb.final.domainsSeen && m.value(ra) !== null && m.value(rb) !== null) pairs.push({ seed, ra, rb })
        }
        const d = pairedDifference(pairs.map((p) => ({ a: m.value(p.ra)!, b: m.value(p.rb)!, aCi: m.ci(p.ra), bCi: m.ci(p.rb) })))
        if (d === null) continue
        out.push({
          metric: m.metric,
          a: methods[i]!,
          b: methods[j]!,
          pairs: pairs.map((p) => ({ seed: p.seed, a: p.ra.id, b: p.rb.id })),
          mean: d.mean,
          lo: d.lo,
          hi: d.hi,
          basis: d.basis,
          significant: d.significant,
          verdict: `${methods[i]} vs ${methods[j]}: ${differenceVerdict(d, (x) => formatValue(x))}`
        })
      }
    }
  }
  return out
}
