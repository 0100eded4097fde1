// Slice summaries (schema 12): a series' points summarised per slice of SLICE_STEPS steps (count, sum, min, max,
// last). The overview of a series (its whole range against step) is bucketed from them instead of from every
// point: its buckets are made of whole slices (edges on multiples of SLICE_STEPS), so the answer is the same as
// bucketing the points themselves with those edges — only 1/64 of the data is read.
import type { Bucketed, Values } from './bucket'

/** Steps per slice; a store block (4,096 steps) holds SLICES_PER_BLOCK slices. */
export const SLICE_STEPS = 64

/** Contiguous slices of one series: slice `first + i` covers steps [(first + i) × SLICE_STEPS, (first + i + 1) × SLICE_STEPS). */
export interface SliceSummaries {
  first: number
  /** points in the slice */
  n: Float64Array
  /** of them with a finite value */
  finite: Float64Array
  /** sum of the points' steps */
  sumStep: Float64Array
  /** sum of the finite values */
  sum: Float64Array
  /** min, max and last of the finite values (NaN when none) */
  min: Float64Array
  max: Float64Array
  last: Float64Array
}

export function emptySlices(first: number, length: number): SliceSummaries {
  const nan = () => new Float64Array(length).fill(NaN)
  return {
    first,
    n: new Float64Array(length),
    finite: new Float64Array(length),
    sumStep: new Float64Array(length),
    sum: new Float64Array(length),
    min: nan(),
    max: nan(),
    last: nan()
  }
}

/** Summaries of `length` slices from slice `first`, of points in ascending step order (points outside are ignored). */
export function summarizeSlices(step: ArrayLike<number>, value: ArrayLike<number>, first: number, length: number): SliceSummaries {
  const s = emptySlices(first, length)
  for (let i = 0; i < step.length; i++) {
    const k = Math.floor(step[i]! / SLICE_STEPS) - first
    if (k < 0 || k >= length) continue
    s.n[k]!++
    s.sumStep[k]! += step[i]!
    const v = value[i]!
    if (!Number.isFinite(v)) continue
    s.finite[k]!++
    s.sum[k]! += v
    if (!(v >= s.min[k]!)) s.min[k] = v
    if (!(v <= s.max[k]!)) s.max[k] = v
    s.last[k] = v
  }
  return s
}

/** Total points the slices stand for. */
export function slicePoints(s: SliceSummaries): number {
  let n = 0
  for (let i = 0; i < s.n.length; i++) n += s.n[i]!
  return n
}

/**
 * Buckets of whole slices for the full extent [lo, hi] of integer steps: at most `buckets`, each a whole number of
 * slices wide, the first starting on the slice of `lo`. `range` is what `bucketMinMax` takes to draw the same
 * buckets from the points; every step of [lo, hi] lies in it. Null when the extent is too short for buckets of a
 * slice or more (then the points are bucketed as they are).
 */
export function sliceBuckets(extent: readonly [number, number], buckets: number): { range: [number, number]; buckets: number } | null {
  const lo = Math.floor(extent[0] / SLICE_STEPS) * SLICE_STEPS
  const span = extent[1] - lo + 1
  if (!Number.isInteger(lo) || !Number.isInteger(extent[1]) || span < Math.max(1, buckets) * SLICE_STEPS) return null
  const width = SLICE_STEPS * Math.max(1, Math.ceil(span / (Math.max(1, buckets) * SLICE_STEPS)))
  const count = Math.max(1, Math.ceil(span / width))
  return { range: [lo, lo + count * width], buckets: count }
}

/**
 * The buckets `bucketMinMax(step, value, range, buckets)` makes of the points (range and buckets from
 * `sliceBuckets`, more points than buckets), from the slices alone: per non-empty bucket the mean step, the mean of
 * the finite values, their min and max, and the count. Sums are added slice by slice, so a mean may differ from the
 * point-by-point sum in its last bits; counts, steps, min and max are exact.
 */
export function bucketSlices(s: SliceSummaries, range: readonly [number, number], buckets: number): Bucketed {
  const lo = range[0]
  const width = (range[1] - range[0]) / buckets
  const x: number[] = []
  const y: Values = []
  const mins: Values = []
  const maxs: Values = []
  const count: number[] = []
  let points = 0
  let current = -1
  let c = 0
  let sx = 0
  let sy = 0
  let ny = 0
  let mn = Infinity
  let mx = -Infinity
  const flush = () => {
    if (c === 0) return
    x.push(sx / c)
    y.push(ny > 0 ? sy / ny : null)
    mins.push(mn === Infinity ? null : mn)
    maxs.push(mx === -Infinity ? null : mx)
    count.push(c)
  }
  for (let i = 0; i < s.n.length; i++) {
    const n = s.n[i]!
    if (n === 0) continue
    const b = Math.min(buckets - 1, Math.floor(((s.first + i) * SLICE_STEPS - lo) / width))
    if (b !== current) {
      flush()
      current = b
      c = sx = sy = ny = 0
      mn = Infinity
      mx = -Infinity
    }
    c += n
    points += n
    sx += s.sumStep[i]!
    if (s.finite[i]! > 0) {
      sy += s.sum[i]!
      ny += s.finite[i]!
      if (s.min[i]! < mn) mn = s.min[i]!
      if (s.max[i]! > mx) mx = s.max[i]!
    }
  }
  flush()
  return { x, y, also: [], min: mins, max: maxs, count, points }
}
