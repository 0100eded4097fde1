// The long-format CSV of runs' series (runs.exportCsv): every stored point, never downsampled, refused with
// the count when it would pass the cap instead of being cut short. The count comes first, from the metric
// blocks' point counts (and an index count where no block is stored), so a refused export reads no points.
import { csvLong, EXPORT_CSV_MAX_ROWS, metricMatcher, type LongRow } from '../../../shared/export/csv'
import { BLOCK_STEPS } from '../store/series'
import type { ExperimentStore } from '../store/store'
import { CompareError, configFacts } from './compare'

/**
 * The points of one series, counted without reading them: each stored block's `n`, and an index count
 * (`metrics` primary key: run, name, step) over the step ranges no block covers. A block is deleted in the
 * transaction that writes into it, so a stored block's count is always current.
 */
export function countSeries(store: ExperimentStore, runId: number, name: string): number {
  const db = store.db
  const between = db.prepare('SELECT COUNT(*) FROM metrics WHERE run_id = ? AND name = ? AND step BETWEEN ? AND ?').pluck()
  if (!store.series.hasBlocks) return between.get(runId, name, -Infinity, Infinity) as number
  const ext = db.prepare('SELECT MIN(step) AS lo, MAX(step) AS hi FROM metrics WHERE run_id = ? AND name = ?').get(runId, name) as { lo: number | null; hi: number | null }
  if (ext.lo === null || ext.hi === null) return 0
  const blocks = new Map((db.prepare('SELECT block, n FROM metric_blocks WHERE run_id = ? AND name = ?').raw().all(runId, name) as Array<[number, number]>).map(([b, n]) => [b, n]))
  let total = 0
  let gapFrom: number | null = null
  const first = Math.floor(ext.lo / BLOCK_STEPS)
  const last = Math.floor(ext.hi / BLOCK_STEPS)
  for (let b = first; b <= last + 1; b++) {
    const n = b <= last ? blocks.get(b) : undefined
    if (n === undefined && b <= last) {
      gapFrom ??= b
      continue
    }
    if (gapFrom !== null) {
      total += between.get(runId, name, gapFrom * BLOCK_STEPS, b * BLOCK_STEPS - 1e-9) as number
      gapFrom = null
    }
    if (n !== undefined) total += n
  }
  return total
}

export function exportCsv(store: ExperimentStore, ids: readonly number[], metrics?: readonly string[], maxRows = EXPORT_CSV_MAX_ROWS): { csv: string; rows: number } {
  if (new Set(ids).size !== ids.length) throw new CompareError(`a run is listed twice in ${ids.join(', ')}`)
  const chosen = metricMatcher(metrics)
  const runs = ids.map((id) => {
    const run = store.getRun(id)
    const label = `#${id} ${configFacts(store.getExperimentConfig(run.experimentId)).method}`
    return {
      id,
      label,
      names: store.series
        .names(id)
        .filter(chosen)
        .sort((a, b) => a.localeCompare(b))
    }
  })
  // count before reading anything: a refused export costs index seeks, not the points
  let total = 0
  for (const r of runs) for (const name of r.names) total += countSeries(store, r.id, name)
  if (total > maxRows)
    throw new CompareError(
      `the export would have ${total.toLocaleString('en-US')} rows, over the cap of ${maxRows.toLocaleString('en-US')}: choose fewer runs or metrics (e.g. ppl/*, ap, ap_geo, ap_plus)`
    )
  // one series in memory at a time
  function* rows(): Generator<LongRow> {
    for (const r of runs)
      for (const name of r.names)
        for (const p of store.readMetrics(r.id, { name }))
          yield {
            runId: r.id,
            runLabel: r.label,
            metric: p.name,
            phase: p.phase.kind,
            stage: p.phase.stage,
            domain: p.phase.domain,
            step: p.step,
            tokens: p.tokensSeen,
            wallS: p.wallS,
            flops: p.flops,
            value: p.value
          }
  }
  return { csv: csvLong(rows()), rows: total }
}
