// Confidence intervals for the lifelong metrics: a seeded percentile bootstrap over validation documents
// (per-domain perplexity, AP, geometric AP, AP+) and the interval of a paired-by-seed difference between two
// methods. Pure and deterministic (no tensors, no node:), so the engine, the CLI and the renderer agree.

/** A two-sided interval at `level` (0.95 unless said otherwise). */
export interface Interval {
  lo: number
  hi: number
}

/** The documents of one domain's validation: summed loss (nats) and labelled tokens, per document. */
export interface DomainDocs {
  loss: ArrayLike<number>
  tokens: ArrayLike<number>
}

export const CI_LEVEL = 0.95
/** Bootstrap resamples: the percentile interval's Monte-Carlo error is then well below its width. */
export const BOOTSTRAP_SAMPLES = 1000

/** A small, fast, seeded generator (mulberry32): the same seed gives the same intervals everywhere. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The q-quantile (0..1) of values, linear between order statistics. NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const at = q * (v.length - 1)
  const i = Math.floor(at)
  const f = at - i
  return i + 1 < v.length ? v[i]! * (1 - f) + v[i + 1]! * f : v[i]!
}

/** The percentile interval of bootstrap replicates. */
export function percentileInterval(replicates: readonly number[], level = CI_LEVEL): Interval {
  return { lo: quantile(replicates, (1 - level) / 2), hi: quantile(replicates, 1 - (1 - level) / 2) }
}

/** Mean loss per token of a domain, with documents weighted by the given counts (a resample). */
function pooledLoss(docs: DomainDocs, counts: ArrayLike<number> | null): number {
  let loss = 0
  let tokens = 0
  for (let i = 0; i < docs.loss.length; i++) {
    const c = counts === null ? 1 : counts[i]!
    if (c === 0) continue
    loss += c * docs.loss[i]!
    tokens += c * docs.tokens[i]!
  }
  return tokens > 0 ? loss / tokens : NaN
}

/** Perplexity of a domain from its documents (exp of the token-weighted mean loss). */
export const docsPerplexity = (docs: DomainDocs): number => Math.exp(pooledLoss(docs, null))

/** How often each of n documents is drawn in one resample (n draws with replacement). */
function resampleCounts(n: number, rand: () => number): Uint32Array {
  const counts = new Uint32Array(n)
  for (let k = 0; k < n; k++) counts[Math.min(n - 1, Math.floor(rand() * n))]! += 1
  return counts
}

export interface LifelongInput {
  /** the current validation of every seen domain */
  current: ReadonlyMap<string, DomainDocs>
  /** each earlier domain's validation at the end of its own stage (the AP+ reference), on the same documents */
  reference: ReadonlyMap<string, DomainDocs>
  /** the domain being trained now: AP+ leaves it out */
  currentDomain: string
}

export interface LifelongIntervals {
  ppl: Record<string, Interval>
  ap: Interval
  apGeo: Interval
  /** null when no earlier domain has a reference (the first stage) */
  apPlus: Interval | null
  samples: number
}

/**
 * 95% percentile-bootstrap intervals over validation documents. Each resample draws every domain's documents
 * with replacement (domains independently; a domain's current and end-of-stage evaluations share the draw,
 * since they are the same documents), recomputes each perplexity from pooled token losses, and from them AP
 * (arithmetic mean), geometric AP (exp of the mean loss) and AP+ (mean increase over the references).
 */
export function lifelongIntervals(input: LifelongInput, opts: { samples?: number; seed?: number; level?: number } = {}): LifelongIntervals {
  const B = opts.samples ?? BOOTSTRAP_SAMPLES
  const rand = seededUniform(opts.seed ?? 0x5eed)
  const domains = [...input.current.keys()]
  const earlier = domains.filter((d) => d !== input.currentDomain && input.reference.has(d))
  for (const d of earlier) {
    if (input.reference.get(d)!.loss.length !== input.current.get(d)!.loss.length)
      throw new Error(`lifelongIntervals: ${d} has ${input.current.get(d)!.loss.length} documents now but ${input.reference.get(d)!.loss.length} in its reference`)
  }
  const ppl: Record<string, number[]> = Object.fromEntries(domains.map((d) => [d, []]))
  const ap: number[] = []
  const apGeo: number[] = []
  const apPlus: number[] = []
  for (let b = 0; b < B; b++) {
    let sumPpl = 0
    let sumLoss = 0
    let sumPlus = 0
    for (const d of domains) {
      const docs = input.current.get(d)!
      const counts = resampleCounts(docs.loss.length, rand)
      const loss = pooledLoss(docs, counts)
      const p = Math.exp(loss)
      ppl[d]!.push(p)
      sumPpl += p
      sumLoss += loss
      const ref = earlier.includes(d) ? input.reference.get(d)! : null
      if (ref) sumPlus += p - Math.exp(pooledLoss(ref, counts))
    }
    ap.push(sumPpl / domains.length)
    apGeo.push(Math.exp(sumLoss / domains.length))
    if (earlier.length > 0) apPlus.push(sumPlus / earlier.length)
  }
  const level = opts.level ?? CI_LEVEL
  return {
    ppl: Object.fromEntries(domains.map((d) => [d, percentileInterval(ppl[d]!, level)])),
    ap: percentileInterval(ap, level),
    apGeo: percentileInterval(apGeo, level),
    apPlus: earlier.length > 0 ? percentileInterval(apPlus, level) : null,
    samples: B
  }
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (then the normal's 1.96). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056,
  2.052, 2.048, 2.045, 2.042
]
export const tQuantile975 = (df: number): number => (df >= 1 && df <= T975.length ? T975[df - 1]! : 1.96)

export interface PairedDifference {
  /** mean over seeds of (A − B) */
  mean: number
  /** null when there is no interval (one seed, and a run without its own interval) */
  lo: number | null
  hi: number | null
  /** seeds both methods have */
  seeds: number
  /** how the interval was made: Student's t over the seeds' differences, or (one seed) the two runs' own intervals */
  basis: 't-over-seeds' | 'one-seed-intervals'
  /** true only when the interval excludes zero */
  significant: boolean
}

/**
 * The 95% interval of the mean paired difference A − B over seeds. With two or more seeds: a t interval over
 * the per-seed differences (their spread already holds each run's evaluation noise). With one seed: the two
 * runs' own bootstrap intervals, combined as independent normal errors (conservative: they share documents).
 * Null when no seed has both values.
 */
export function pairedDifference(pairs: ReadonlyArray<{ a: number; b: number; aCi?: Interval | null; bCi?: Interval | null }>): PairedDifference | null {
  const ok = pairs.filter((p) => Number.isFinite(p.a) && Number.isFinite(p.b))
  const n = ok.length
  if (n === 0) return null
  const diffs = ok.map((p) => p.a - p.b)
  const mean = diffs.reduce((s, x) => s + x, 0) / n
  if (n >= 2) {
    const sd = Math.sqrt(diffs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1))
    const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n)
    return { mean, lo: mean - half, hi: mean + half, seeds: n, basis: 't-over-seeds', significant: mean - half > 0 || mean + half < 0 }
  }
  const p = ok[0]!
  const se = (ci: Interval | null | undefined): number => (ci && Number.isFinite(ci.lo) && Number.isFinite(ci.hi) ? (ci.hi - ci.lo) / (2 * 1.96) : NaN)
  const half = 1.96 * Math.sqrt(se(p.aCi) ** 2 + se(p.bCi) ** 2)
  if (!Number.isFinite(half)) return { mean, lo: null, hi: null, seeds: 1, basis: 'one-seed-intervals', significant: false }
  return { mean, lo: mean - half, hi: mean + half, seeds: 1, basis: 'one-seed-intervals', significant: mean - half > 0 || mean + half < 0 }
}

/** "A is lower by 3.1 [1.2, 5.0]" when the interval excludes zero, else "within noise". Lower is better for every metric here. */
export function differenceVerdict(d: PairedDifference | null, format: (x: number) => string = (x) => x.toPrecision(3)): string {
  if (d === null) return 'no paired seeds'
  if (d.lo === null || d.hi === null) return `within noise (${d.mean >= 0 ? '+' : ''}${format(d.mean)}, no interval: one seed without its own interval)`
  const ci = `[${format(d.lo)}, ${format(d.hi)}]`
  if (!d.significant) return `within noise (${d.mean >= 0 ? '+' : ''}${format(d.mean)}, 95% CI ${ci})`
  return `${d.mean < 0 ? 'lower' : 'higher'} by ${format(Math.abs(d.mean))} (95% CI ${ci})`
}
