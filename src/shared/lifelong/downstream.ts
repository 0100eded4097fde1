// The downstream table of a comparison: one row per task (domain, metric, checkpoint, fine-tuning length),
// a cell per run with mean ± std over fine-tuning seeds, the best mean per row marked (higher is better:
// accuracy and F1), and each run tested against a chosen reference run with Welch's t over seeds.
import type { ComparedRun } from '../contract'
import { downstreamKey, downstreamMetricLabel } from '../downstream'
import { welch, welchText, type WelchResult } from './welch'

export interface DownstreamCell {
  runId: number
  mean: number
  std: number | null
  seeds: number
  best: boolean
  /** against the reference run (null for the reference itself, or when there is no reference score) */
  test: WelchResult | null
  /** "p = 0.012 (n 3 vs 3)", "not significant (…)", or why there is no test; null for the reference */
  verdict: string | null
}

export interface DownstreamRow {
  key: string
  task: string
  domain: string
  metric: string
  checkpoint: string
  cells: Array<DownstreamCell | null>
}

export function downstreamRows(runs: ReadonlyArray<Pick<ComparedRun, 'id' | 'downstream'>>, referenceId: number | null): DownstreamRow[] {
  const keys = new Map<string, Omit<DownstreamRow, 'cells' | 'key'>>()
  for (const r of runs)
    for (const d of r.downstream) {
      const key = downstreamKey(d)
      if (!keys.has(key))
        keys.set(key, { task: d.task, domain: d.domain, metric: downstreamMetricLabel(d), checkpoint: d.checkpointId === null ? 'final' : `step ${d.checkpointStep ?? '?'}` })
    }
  return [...keys].map(([key, k]) => {
    const scores = runs.map((r) => r.downstream.find((d) => downstreamKey(d) === key) ?? null)
    const best = Math.max(...scores.map((d) => d?.mean ?? -Infinity))
    const refIndex = runs.findIndex((r) => r.id === referenceId)
    const ref = refIndex < 0 ? null : scores[refIndex]
    return {
      key,
      ...k,
      cells: scores.map((d, i) => {
        if (d === null) return null
        const isRef = i === refIndex
        const test = ref && !isRef ? welch({ mean: d.mean, std: d.std, n: d.seeds }, { mean: ref.mean, std: ref.std, n: ref.seeds }) : null
        return {
          runId: runs[i]!.id,
          mean: d.mean,
          std: d.std,
          seeds: d.seeds,
          best: scores.filter((s) => s !== null).length > 1 && d.mean === best,
          test,
          verdict: ref && !isRef ? welchText(test, d.seeds, ref.seeds) : null
        }
      })
    }
  })
}
