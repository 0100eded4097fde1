// Lines over seeds: members (runs of one experiment, method or sweep group) are put on one x grid — the bucket
// centres of the range — and summarised per grid point by their mean or median with a band of standard
// deviation, standard error or a 95% t interval over the members present there.
import { tQuantile975 } from '../stats'
import { lowerBound, upperBound } from './bucket'
import type { Values } from './bucket'

export interface GroupMember {
  x: ArrayLike<number>
  y: ArrayLike<number>
}

export interface GroupOptions {
  stat: 'mean' | 'median'
  band: 'none' | 'std' | 'sem' | 'ci95'
  range: readonly [number, number]
  buckets: number
}

export interface GroupLine {
  x: number[]
  y: Values
  /** the band around `y`; absent when band is `none` */
  lo?: Values
  hi?: Values
  /** members with a value at each grid point */
  n: number[]
  /** each member on the grid (null outside its extent) */
  members: Values[]
}

/** The centres of `buckets` equal buckets of `range`. */
export function gridOf(range: readonly [number, number], buckets: number): number[] {
  const [lo, hi] = range
  if (!(hi > lo)) return [lo]
  const w = (hi - lo) / buckets
  return Array.from({ length: buckets }, (_, i) => lo + (i + 0.5) * w)
}

/**
 * One member on the grid: the mean of its finite points inside a grid bucket when it has any there (so a
 * dense series is averaged, not sampled), else linear interpolation between its neighbours; null outside
 * the member's x extent.
 */
export function onGrid(member: GroupMember, grid: readonly number[], range: readonly [number, number]): Values {
  const { x, y } = member
  const out: Values = new Array(grid.length).fill(null)
  // finite points only: a NaN never enters a mean or an interpolation
  const fx: number[] = []
  const fy: number[] = []
  for (let i = 0; i < x.length; i++) if (Number.isFinite(y[i]!)) (fx.push(x[i]!), fy.push(y[i]!))
  if (fx.length === 0) return out
  const first = fx[0]!
  const last = fx[fx.length - 1]!
  const half = grid.length > 1 ? (grid[1]! - grid[0]!) / 2 : Math.max(0, (range[1] - range[0]) / 2)
  for (let g = 0; g < grid.length; g++) {
    const c = grid[g]!
    const a = lowerBound(fx, c - half)
    const b = g === grid.length - 1 ? upperBound(fx, c + half) : lowerBound(fx, c + half)
    if (b > a) {
      let s = 0
      for (let i = a; i < b; i++) s += fy[i]!
      out[g] = s / (b - a)
    } else if (c >= first && c <= last) {
      const j = lowerBound(fx, c)
      if (fx[j] === c) out[g] = fy[j]!
      else {
        const x0 = fx[j - 1]!
        const x1 = fx[j]!
        out[g] = fy[j - 1]! + ((c - x0) / (x1 - x0)) * (fy[j]! - fy[j - 1]!)
      }
    }
  }
  return out
}

function median(sorted: readonly number[]): number {
  const m = sorted.length >> 1
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2
}

/** The group statistic and band per grid point. The band is centred on the statistic; it needs two members. */
export function groupLines(members: readonly GroupMember[], options: GroupOptions): GroupLine {
  const grid = gridOf(options.range, options.buckets)
  const aligned = members.map((m) => onGrid(m, grid, options.range))
  const y: Values = []
  const lo: Values = []
  const hi: Values = []
  const n: number[] = []
  for (let g = 0; g < grid.length; g++) {
    const vs: number[] = []
    for (const a of aligned) if (a[g] !== null) vs.push(a[g]!)
    n.push(vs.length)
    if (vs.length === 0) {
      ;(y.push(null), lo.push(null), hi.push(null))
      continue
    }
    const mean = vs.reduce((s, v) => s + v, 0) / vs.length
    const centre = options.stat === 'median' ? median([...vs].sort((a, b) => a - b)) : mean
    y.push(centre)
    if (vs.length < 2 || options.band === 'none') {
      ;(lo.push(null), hi.push(null))
      continue
    }
    const sd = Math.sqrt(vs.reduce((s, v) => s + (v - mean) ** 2, 0) / (vs.length - 1))
    const sem = sd / Math.sqrt(vs.length)
    const half = options.band === 'std' ? sd : options.band === 'sem' ? sem : tQuantile975(vs.length - 1) * sem
    lo.push(centre - half)
    hi.push(centre + half)
  }
  return { x: grid, y, ...(options.band === 'none' ? {} : { lo, hi }), n, members: aligned }
}
