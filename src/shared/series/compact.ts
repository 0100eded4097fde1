// The compact numbers of a `runs.series` answer: a comparison of 100 runs sends ~160,000 numbers, and full
// precision JSON spends 17 digits on each (2.5 MB). Values are sent with 8 significant digits, which is within
// float32 precision (a relative error of at most 5e-8; float32 rounds to 6e-8): "2.7345679" instead of
// "2.734567890123456". A bucket's min is rounded down and its max up, so the drawn envelope always contains every
// stored point: no spike is cut, not even by the rounding.

/** Significant digits of the numbers a series answer carries. */
export const SERIES_DIGITS = 8

/** The relative error `roundSig` allows at SERIES_DIGITS: half a unit of the 8th digit of a value starting with 1. */
export const SERIES_RELATIVE_ERROR = 0.5 * 10 ** (1 - SERIES_DIGITS)

export type Rounding = 'nearest' | 'down' | 'up'

/**
 * `v` with `digits` significant digits (shortest JSON: at most `digits` digits), rounded to the nearest, down or up.
 * Directed roundings are guaranteed: `down` never returns more than `v`, `up` never less.
 */
export function roundSig(v: number, digits: number = SERIES_DIGITS, dir: Rounding = 'nearest'): number {
  if (v === 0 || !Number.isFinite(v)) return v
  const e = Math.floor(Math.log10(Math.abs(v)))
  const k = digits - 1 - e
  // scale by an exact power of ten (10^k is exact for 0 <= k <= 22; for k < 0 divide by the exact 10^-k)
  if (k > 22 || k < -22) {
    // beyond exact powers of ten (below ~1e-15 or above ~1e30): the decimal string; a directed rounding that lands
    // on the wrong side keeps the value itself (longer, never wrong)
    const r = Number(v.toPrecision(digits))
    return dir === 'nearest' || (dir === 'down' ? r <= v : r >= v) ? r : v
  }
  const p = 10 ** Math.abs(k)
  const scaled = k >= 0 ? v * p : v / p
  const back = (m: number): number => (k >= 0 ? m / p : m * p)
  if (dir === 'nearest') return back(Math.round(scaled))
  let m = dir === 'down' ? Math.floor(scaled) : Math.ceil(scaled)
  let r = back(m)
  // the scaling itself rounds: step once more where that put the result on the wrong side of v
  while (dir === 'down' ? r > v : r < v) r = back((m += dir === 'down' ? -1 : 1))
  return r
}

/** A column rounded in place of a copy (the engine's arrays are built for the answer). */
export function roundColumn<T extends Array<number | null>>(values: T, dir: Rounding = 'nearest'): T {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (v !== null && v !== undefined) values[i] = roundSig(v, SERIES_DIGITS, dir)
  }
  return values
}

/**
 * The numbers of a drawn line, as sent: values to the nearest, min and lower band down, max and upper band up; x to
 * the nearest where it is a fraction (a bucket's mean x), exact where it is a whole number (a step, a token count).
 */
export interface CompactableLine {
  x: number[]
  y: Array<number | null>
  min?: Array<number | null>
  max?: Array<number | null>
  raw?: Array<number | null>
  band?: { lo: Array<number | null>; hi: Array<number | null> }
}

export function compactLine<L extends CompactableLine>(line: L): L {
  const x = line.x
  for (let i = 0; i < x.length; i++) if (!Number.isInteger(x[i])) x[i] = roundSig(x[i]!)
  roundColumn(line.y)
  if (line.raw) roundColumn(line.raw)
  if (line.min) roundColumn(line.min, 'down')
  if (line.max) roundColumn(line.max, 'up')
  if (line.band) {
    roundColumn(line.band.lo, 'down')
    roundColumn(line.band.hi, 'up')
  }
  return line
}
