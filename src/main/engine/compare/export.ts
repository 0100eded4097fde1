// The long-format CSV of runs' series (runs.exportCsv): every stored point, never downsampled, refused with
// the count when it would pass the cap instead of being cut short.
import { csvLong, EXPORT_CSV_MAX_ROWS, metricMatcher, type LongRow } from '../../../shared/export/csv'
import type { ExperimentStore } from '../store/store'
import { CompareError, configFacts } from './compare'

export function exportCsv(store: ExperimentStore, ids: readonly number[], metrics?: readonly string[], maxRows = EXPORT_CSV_MAX_ROWS): { csv: string; rows: number } {
  if (new Set(ids).size !== ids.length) throw new CompareError(`a run is listed twice in ${ids.join(', ')}`)
  const chosen = metricMatcher(metrics)
  const runs = ids.map((id) => {
    const run = store.getRun(id)
    const label = `#${id} ${configFacts(store.getExperimentConfig(run.experimentId)).method}`
    return { id, label, points: store.readMetrics(id).filter((p) => chosen(p.name)) }
  })
  const total = runs.reduce((a, r) => a + r.points.length, 0)
  if (total > maxRows)
    throw new CompareError(
      `the export would have ${total.toLocaleString('en-US')} rows, over the cap of ${maxRows.toLocaleString('en-US')}: choose fewer runs or metrics (e.g. ppl/*, ap, ap_geo, ap_plus)`
    )
  function* rows(): Generator<LongRow> {
    for (const r of runs)
      for (const p of [...r.points].sort((a, b) => a.name.localeCompare(b.name) || a.step - b.step))
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
