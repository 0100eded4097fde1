// Column reads of the metrics table for the curves query: one series of one run as typed arrays (step, the x
// column, value), and each phase's first point. Reading columns instead of MetricPoint objects keeps 100
// runs × 100,000 points within memory and time (docs/benchmarks.md, "Comparison at scale").
import type Database from 'better-sqlite3'
import type { XAxisKind } from '../../../shared/charts/types'
import type { PhaseRef } from '../../../shared/metrics'

export const X_COLUMNS: Record<XAxisKind, string> = { step: 'step', tokens: 'tokens_seen', wall: 'wall_s', flops: 'flops' }

export interface SeriesColumns {
  x: Float64Array
  y: Float64Array
}

/** The first point of a phase in every x unit, and the series value there (the `params` series: the parameter count). */
export interface PhaseStart {
  phase: PhaseRef
  step: number
  tokens: number
  wall: number
  flops: number
  value: number | null
}

export class SeriesStore {
  private readonly statements = new Map<string, Database.Statement>()

  constructor(private readonly db: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql)
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)))
    return s
  }

  /** One series in step order, x in the given unit. */
  columns(runId: number, name: string, x: XAxisKind): SeriesColumns {
    const rows = this.prepare(`SELECT ${X_COLUMNS[x]}, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step`).raw().all(runId, name) as Array<[number, number]>
    const xs = new Float64Array(rows.length)
    const ys = new Float64Array(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!
      xs[i] = r[0]
      ys[i] = r[1]
    }
    return { x: xs, y: ys }
  }

  /** Where each phase of a run starts, from the series `name` (the loop writes `params` once at each phase start). */
  phaseStarts(runId: number, name: string): PhaseStart[] {
    const rows = this.prepare(
      `SELECT kind, stage, domain, MIN(step), tokens_seen, wall_s, flops, value FROM metrics WHERE run_id = ? AND name = ? GROUP BY kind, stage, domain ORDER BY MIN(step)`
    )
      .raw()
      .all(runId, name) as Array<[string, number | null, string | null, number, number, number, number, number]>
    return rows.map(([kind, stage, domain, step, tokens, wall, flops, value]) => ({ phase: { kind, stage, domain }, step, tokens, wall, flops, value }))
  }

  /** Whether a run recorded the series. */
  has(runId: number, name: string): boolean {
    return this.prepare('SELECT 1 FROM metrics WHERE run_id = ? AND name = ? LIMIT 1').get(runId, name) !== undefined
  }

  /** The sweep group the run was queued in (queue_entries.group_name), or null. */
  sweepGroup(runId: number): string | null {
    const row = this.prepare('SELECT group_name FROM queue_entries WHERE run_id = ?').get(runId) as { group_name: string | null } | undefined
    return row?.group_name ?? null
  }
}
