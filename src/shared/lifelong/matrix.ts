// The stage × domain perplexity matrix of the Compare view: one run's, a group's mean over seeds with a
// t interval, or the difference of two (runs or groups) with a combined interval. Pure: the view, the report
// and the tests compute the same cells.
import type { HeatmapInput } from '../charts/types'
import type { ComparedRun } from '../contract'
import { matrixRowLabel } from '../metrics'
import { tQuantile975, type Interval } from '../stats'

export type MatrixRows = 'stage-ends' | 'all'

export interface Matrix {
  /** row identities that line up across runs of one config: `stage:<i>` for stage ends, else `step:<n>` */
  keys: string[]
  rows: string[]
  cols: string[]
  values: Array<Array<number | null>>
  /** 95% interval per cell (null: none) */
  intervals: Array<Array<Interval | null>>
  /** runs behind each cell (1 for one run; the seeds with a value for a group) */
  n: number[][]
}

/** A run's matrix: its stage-end rows (the paper's view) when asked and present, else every validation. */
export function runMatrix(run: Pick<ComparedRun, 'matrix'>, stream: readonly string[], rows: MatrixRows = 'stage-ends'): Matrix {
  const ends = run.matrix.filter((r) => r.stageEnd)
  const useEnds = rows === 'stage-ends' && ends.length > 0
  const picked = useEnds ? ends : run.matrix
  return {
    keys: picked.map((r) => (useEnds ? `stage:${r.stage}` : `step:${r.step}`)),
    rows: picked.map((r) => matrixRowLabel(r, stream, useEnds)),
    cols: [...stream],
    values: picked.map((r) => stream.map((_, j) => r.ppl[j] ?? null)),
    intervals: picked.map((r) => stream.map((_, j) => r.ci?.[j] ?? null)),
    n: picked.map((r) => stream.map((_, j) => (r.ppl[j] === null || r.ppl[j] === undefined ? 0 : 1)))
  }
}

/** Row keys of several matrices in order of first appearance, with the first label seen for each. */
function unionRows(mats: readonly Matrix[]): Array<{ key: string; label: string }> {
  const seen = new Map<string, string>()
  for (const m of mats) m.keys.forEach((k, i) => seen.has(k) || seen.set(k, m.rows[i]!))
  return [...seen].map(([key, label]) => ({ key, label }))
}

/**
 * The mean over runs (seeds) of each cell, with a 95% t interval over the runs that have it
 * (mean ± t(n−1)·sd/√n); a cell only one run has keeps that run's own interval.
 */
export function groupMatrix(mats: readonly Matrix[]): Matrix {
  if (mats.length === 0) return { keys: [], rows: [], cols: [], values: [], intervals: [], n: [] }
  const cols = mats[0]!.cols
  const rows = unionRows(mats)
  const values: Array<Array<number | null>> = []
  const intervals: Array<Array<Interval | null>> = []
  const counts: number[][] = []
  for (const { key } of rows) {
    const vr: Array<number | null> = []
    const ir: Array<Interval | null> = []
    const nr: number[] = []
    cols.forEach((_, j) => {
      const cells = mats.flatMap((m) => {
        const i = m.keys.indexOf(key)
        const v = i < 0 ? null : (m.values[i]![j] ?? null)
        return v === null ? [] : [{ v, ci: m.intervals[i]![j] ?? null }]
      })
      const n = cells.length
      nr.push(n)
      if (n === 0) {
        vr.push(null)
        ir.push(null)
        return
      }
      const mean = cells.reduce((a, c) => a + c.v, 0) / n
      vr.push(mean)
      if (n === 1) {
        ir.push(cells[0]!.ci)
        return
      }
      const sd = Math.sqrt(cells.reduce((a, c) => a + (c.v - mean) ** 2, 0) / (n - 1))
      const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n)
      ir.push({ lo: mean - half, hi: mean + half })
    })
    values.push(vr)
    intervals.push(ir)
    counts.push(nr)
  }
  return { keys: rows.map((r) => r.key), rows: rows.map((r) => r.label), cols: [...cols], values, intervals, n: counts }
}

/**
 * A − B on the rows both have (in A's order). A cell's interval combines the two as independent errors, each
 * side's distance to its own bounds kept (bootstrap intervals are not symmetric); null when either has none.
 */
export function diffMatrix(a: Matrix, b: Matrix): Matrix {
  const keep = a.keys.map((k, i) => ({ k, i, bi: b.keys.indexOf(k) })).filter((r) => r.bi >= 0)
  const values: Array<Array<number | null>> = []
  const intervals: Array<Array<Interval | null>> = []
  const n: number[][] = []
  for (const { i, bi } of keep) {
    const vr: Array<number | null> = []
    const ir: Array<Interval | null> = []
    const nr: number[] = []
    a.cols.forEach((_, j) => {
      const va = a.values[i]![j] ?? null
      const vb = b.values[bi]![j] ?? null
      nr.push(Math.min(a.n[i]![j] ?? 0, b.n[bi]![j] ?? 0))
      if (va === null || vb === null) {
        vr.push(null)
        ir.push(null)
        return
      }
      const d = va - vb
      vr.push(d)
      const ca = a.intervals[i]![j] ?? null
      const cb = b.intervals[bi]![j] ?? null
      ir.push(ca === null || cb === null ? null : { lo: d - Math.hypot(va - ca.lo, cb.hi - vb), hi: d + Math.hypot(ca.hi - va, vb - cb.lo) })
    })
    values.push(vr)
    intervals.push(ir)
    n.push(nr)
  }
  return { keys: keep.map((r) => r.k), rows: keep.map((r) => a.rows[r.i]!), cols: [...a.cols], values, intervals, n }
}

/** What the heat map chart draws: perplexities on a log scale, differences diverging around zero. */
export function heatmapInput(m: Matrix, kind: 'ppl' | 'diff', title?: string): HeatmapInput {
  return {
    ...(title === undefined ? {} : { title }),
    rows: m.rows,
    cols: m.cols,
    values: m.values,
    intervals: m.intervals,
    scale: kind === 'ppl' ? 'log' : 'diverging',
    format: kind
  }
}

export const GROUP_KEYS = ['method', 'experiment'] as const
export type GroupKey = (typeof GROUP_KEYS)[number]

export interface RunGroup {
  key: string
  label: string
  runIds: number[]
}

/** Runs grouped by method or experiment, in order of first appearance. */
export function groupRuns(runs: ReadonlyArray<Pick<ComparedRun, 'id' | 'method' | 'experimentName'>>, by: GroupKey): RunGroup[] {
  const groups = new Map<string, RunGroup>()
  for (const r of runs) {
    const name = by === 'method' ? r.method : r.experimentName
    const key = `${by}:${name}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { key, label: `${by} ${name}`, runIds: [] }))
    g.runIds.push(r.id)
  }
  return [...groups.values()]
}
