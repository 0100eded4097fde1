// Welch's t test between two means with their own spreads (downstream scores over fine-tuning seeds): the
// reference run against each other run. Student's t CDF from the regularized incomplete beta function, so the
// p value is exact for any (fractional) Welch degrees of freedom.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: about 15 digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7
  ]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  x -= 1
  let a = c[0]!
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Continued fraction of the incomplete beta function (Lentz's method). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    c = 1 + aa / c
    d = 1 / (Math.abs(d) < tiny ? tiny : d)
    c = Math.abs(c) < tiny ? tiny : c
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    c = 1 + aa / c
    d = 1 / (Math.abs(d) < tiny ? tiny : d)
    c = Math.abs(c) < tiny ? tiny : c
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-15) break
  }
  return h
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b
}

/** Two-sided p value of Student's t with df degrees of freedom: P(|T| >= |t|). */
export function tTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0
  return incompleteBeta(df / (df + t * t), df / 2, 0.5)
}

/** The t with two-sided p = 1 − level (e.g. the 97.5% quantile for level 0.95), by bisection. */
export function tQuantileTwoSided(df: number, level = 0.95): number {
  let lo = 0
  let hi = 1e3
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (tTwoSidedP(mid, df) > 1 - level) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** A mean with its sample standard deviation (n − 1) over n seeds. */
export interface MeanSd {
  mean: number
  std: number | null
  n: number
}

export interface WelchResult {
  /** a − b */
  diff: number
  t: number
  /** Welch–Satterthwaite degrees of freedom */
  df: number
  p: number
  /** 95% interval of a − b */
  lo: number
  hi: number
  significant: boolean
}

/**
 * Welch's unequal-variance t test of mean a − b. Null when either side has fewer than two seeds (no spread to
 * test against) or both spreads are zero.
 */
export function welch(a: MeanSd, b: MeanSd, alpha = 0.05): WelchResult | null {
  if (a.n < 2 || b.n < 2 || a.std === null || b.std === null) return null
  const va = (a.std * a.std) / a.n
  const vb = (b.std * b.std) / b.n
  const se2 = va + vb
  if (!(se2 > 0)) return null
  const se = Math.sqrt(se2)
  const diff = a.mean - b.mean
  const t = diff / se
  const df = (se2 * se2) / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1))
  const p = tTwoSidedP(t, df)
  const half = tQuantileTwoSided(df, 1 - alpha) * se
  return { diff, t, df, p, lo: diff - half, hi: diff + half, significant: p < alpha }
}

/** "p = 0.012 (n 3 vs 3)" or "not significant (p = 0.41, n 3 vs 3)"; too few seeds is said as such. */
export function welchText(r: WelchResult | null, na: number, nb: number): string {
  const n = `n ${na} vs ${nb}`
  if (r === null) return na < 2 || nb < 2 ? `no test (${n}: needs 2 seeds each)` : `no test (${n}: no spread)`
  const p = r.p < 0.001 ? 'p < 0.001' : `p = ${r.p.toFixed(3)}`
  return r.significant ? `${p} (${n})` : `not significant (${p}, ${n})`
}
