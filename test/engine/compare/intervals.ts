// Bootstrap bounds for hand-made runs: what the metrics plugin records beside every validation (ppl_lo/ppl_hi
// per domain, and ap/ap_geo/ap_plus _lo/_hi), here a fixed relative half-width around each stored value.
import type { ExperimentStore, MetricPoint } from '../../../src/main/engine/store/store'
import { pplDomain, pplHiSeries, pplLoSeries, SERIES } from '../../../src/shared/metrics'

export function writeIntervals(store: ExperimentStore, runId: number, width = 0.05): void {
  const bounds: Record<string, [string, string]> = {
    [SERIES.ap]: [SERIES.apLo, SERIES.apHi],
    [SERIES.apGeo]: [SERIES.apGeoLo, SERIES.apGeoHi],
    [SERIES.apPlus]: [SERIES.apPlusLo, SERIES.apPlusHi]
  }
  const points: MetricPoint[] = []
  for (const p of store.readMetrics(runId)) {
    const domain = pplDomain(p.name)
    const names = domain !== null ? [pplLoSeries(domain), pplHiSeries(domain)] : bounds[p.name]
    if (!names) continue
    const half = Math.abs(p.value) * width
    points.push({ ...p, name: names[0]!, value: p.value - half }, { ...p, name: names[1]!, value: p.value + half })
  }
  store.insertMetrics(points)
}
