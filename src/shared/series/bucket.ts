// Min/max bucketing: a series of any length becomes at most `buckets` drawn points, each with the min and max
// of the raw values it stands for, so a single spike among 100,000 points still shows. Nothing is dropped:
// every point is counted in exactly one bucket.

export type Values = Array<number | null>

export interface Bucketed {
  /** per bucket: the mean x of its points (or each point's own x when not bucketed) */
  x: number[]
  /** per bucket: the mean (or last) finite value of `y`; null when the bucket only held NaN/Infinity */
  y: Values
  /** per bucket: the same statistic of each `also` column (e.g. the raw series under a smoothed one) */
  also: Values[]
  /** per-bucket min and max of the finite values of `minMaxOf` (default `y`); absent when every point is returned */
  min?: Values
  max?: Values
  /** points per bucket */
  count: number[]
  /** points in the range (what the line stands for) */
  points: number
}

export interface BucketOptions {
  /** the value a bucket shows: the mean of its points (default) or its last point */
  stat?: 'mean' | 'last'
  /** further columns at the same x, summarised the same way */
  also?: ReadonlyArray<ArrayLike<number>>
  /** the column whose min/max the buckets keep (default `y`): the raw series when `y` is smoothed */
  minMaxOf?: ArrayLike<number>
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null)

/** First index with x[i] >= v in ascending `x`. */
export function lowerBound(x: ArrayLike<number>, v: number): number {
  let lo = 0
  let hi = x.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (x[mid]! < v) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First index with x[i] > v in ascending `x`. */
export function upperBound(x: ArrayLike<number>, v: number): number {
  let lo = 0
  let hi = x.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (x[mid]! <= v) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Bucket the points of ascending `x` inside `range` (inclusive; null: all) into `buckets` equal-width x buckets.
 * When the range holds no more points than buckets, the points come back exactly (no min/max).
 */
export function bucketMinMax(x: ArrayLike<number>, y: ArrayLike<number>, range: readonly [number, number] | null, buckets: number, options: BucketOptions = {}): Bucketed {
  const start = range ? lowerBound(x, range[0]) : 0
  const end = range ? upperBound(x, range[1]) : x.length
  const n = Math.max(0, end - start)
  const also = options.also ?? []
  const mm = options.minMaxOf ?? y
  if (n <= buckets) {
    const xs: number[] = new Array(n)
    const ys: Values = new Array(n)
    const as: Values[] = also.map(() => new Array(n))
    for (let i = 0; i < n; i++) {
      xs[i] = x[start + i]!
      ys[i] = finiteOrNull(y[start + i]!)
      for (let k = 0; k < also.length; k++) as[k]![i] = finiteOrNull(also[k]![start + i]!)
    }
    return { x: xs, y: ys, also: as, count: new Array<number>(n).fill(1), points: n }
  }
  const lo = range ? range[0] : x[start]!
  const hi = range ? range[1] : x[end - 1]!
  const width = hi > lo ? (hi - lo) / buckets : 1
  const last = options.stat === 'last'
  const xs: number[] = []
  const ys: Values = []
  const as: Values[] = also.map(() => [])
  const mins: Values = []
  const maxs: Values = []
  const counts: number[] = []
  // the first extra column (the raw series under a smoothed one: the common case) is summed in locals, the rest in
  // arrays: a loop over `also` per point made a smoothed redraw's 10 million points twice as slow to bucket
  const a0 = also.length > 0 ? also[0]! : null
  let i = start
  while (i < end) {
    const b = Math.min(buckets - 1, Math.floor((x[i]! - lo) / width))
    // the bucket's points: every following x below its upper edge (the last bucket takes the rest)
    const edge = b === buckets - 1 ? Infinity : lo + (b + 1) * width
    let sx = 0
    let sy = 0
    let ny = 0
    let lastY: number | null = null
    let s0 = 0
    let n0 = 0
    let l0: number | null = null
    const sa = new Array<number>(also.length).fill(0)
    const na = new Array<number>(also.length).fill(0)
    const la: Array<number | null> = new Array(also.length).fill(null)
    let mn = Infinity
    let mx = -Infinity
    let c = 0
    for (; i < end && (x[i]! < edge || c === 0); i++, c++) {
      sx += x[i]!
      const v = y[i]!
      if (Number.isFinite(v)) {
        sy += v
        ny++
        lastY = v
      }
      const r = mm[i]!
      if (Number.isFinite(r)) {
        if (r < mn) mn = r
        if (r > mx) mx = r
      }
      if (a0 !== null) {
        const a = a0[i]!
        if (Number.isFinite(a)) {
          s0 += a
          n0++
          l0 = a
        }
      }
      for (let k = 1; k < also.length; k++) {
        const a = also[k]![i]!
        if (Number.isFinite(a)) {
          sa[k]! += a
          na[k]!++
          la[k] = a
        }
      }
    }
    if (a0 !== null) {
      sa[0] = s0
      na[0] = n0
      la[0] = l0
    }
    xs.push(sx / c)
    ys.push(last ? lastY : ny > 0 ? sy / ny : null)
    for (let k = 0; k < also.length; k++) as[k]!.push(last ? la[k]! : na[k]! > 0 ? sa[k]! / na[k]! : null)
    mins.push(mn === Infinity ? null : mn)
    maxs.push(mx === -Infinity ? null : mx)
    counts.push(c)
  }
  return { x: xs, y: ys, also: as, min: mins, max: maxs, count: counts, points: n }
}
