// The viridis colour scale and number formats, shared by the HTML report (engine) and the workbench's
// views (renderer), so both label the same comparison the same way (the charts: src/shared/charts).

// viridis, sampled: perceptually uniform and readable in grey
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725']

function hex(c: string): [number, number, number] {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)]
}

/** The colour of t in [0, 1] on the viridis scale. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1)
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x))
  const a = hex(VIRIDIS[i]!)
  const b = hex(VIRIDIS[i + 1]!)
  const f = x - i
  return `#${a
    .map((v, k) =>
      Math.round(v + f * (b[k]! - v))
        .toString(16)
        .padStart(2, '0')
    )
    .join('')}`
}

export function formatValue(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  const a = Math.abs(v)
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2)
  if (a >= 1000) return v.toFixed(0)
  return v.toFixed(digits)
}

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–'
  if (s < 60) return `${s.toFixed(1)} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
}

export function formatFlops(f: number | null | undefined): string {
  if (f === null || f === undefined || !Number.isFinite(f)) return '–'
  if (f === 0) return '0'
  return f.toExponential(2).replace('e+', 'e')
}

export function formatParams(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`
  return String(Math.round(n))
}

export function formatPct(f: number | null | undefined): string {
  if (f === null || f === undefined || !Number.isFinite(f)) return '–'
  const p = f * 100
  return `${Math.abs(p) >= 10 || Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)}%`
}

/** `mean ± std` for a downstream score (std only with more than one seed). */
export function formatScore(mean: number, std: number | null, seeds: number): string {
  const d = Math.abs(mean) <= 1 ? 3 : 1
  return `${mean.toFixed(d)}${std === null ? '' : ` ± ${std.toFixed(d)}`} (n=${seeds})`
}

/** `12.3 [11.9, 12.8]`: a value with its 95% interval (the value alone when there is none). */
export function formatWithInterval(v: number | null | undefined, ci: { lo: number; hi: number } | null | undefined, digits = 1): string {
  if (!ci) return formatValue(v, digits)
  return `${formatValue(v, digits)} [${formatValue(ci.lo, digits)}, ${formatValue(ci.hi, digits)}]`
}

/**
 * What a run's final validation evaluated, in one sentence: scored target tokens and documents per domain
 * (the range over domains) and the validations' share of the run's time.
 */
export function evaluationSentence(e: { domains: ReadonlyArray<{ domain: string; tokens: number | null; docs: number | null }>; evalS: number; evalShare: number | null }): string {
  const seen = e.domains.filter((d) => d.tokens !== null)
  if (seen.length === 0) return 'evaluated tokens not recorded (a run from before the evaluation recorded them)'
  const range = (xs: number[]) => {
    const lo = Math.min(...xs)
    const hi = Math.max(...xs)
    return lo === hi ? lo.toLocaleString('en-US') : `${lo.toLocaleString('en-US')}–${hi.toLocaleString('en-US')}`
  }
  const tokens = range(seen.map((d) => d.tokens!))
  const docs = range(seen.map((d) => d.docs ?? 0))
  const share = e.evalShare === null ? '' : `; validation took ${formatPct(e.evalShare)} of the run's time (${formatSeconds(e.evalS)})`
  return `${tokens} target tokens from ${docs} validation documents per domain${share}`
}
