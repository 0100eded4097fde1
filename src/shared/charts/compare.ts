// A comparison (RunComparison) as chart inputs: AP against wall time or FLOPs with a marker where each domain
// starts and where a run grew, and each run's perplexity matrix on one shared scale. The Compare view and the
// standalone report both draw from these, so the two show the same thing in the same colours.
import type { ComparedRun, RunComparison } from '../contract'
import { matrixRowLabel } from '../metrics'
import { formatParams } from '../plot'
import { runColor } from './palette'
import type { CurveChartInput, CurveMarker, HeatmapInput } from './types'

export type EfficiencyAxis = 'wallS' | 'flops'

/** Where each domain's training starts and where the model grew, in cumulative wall seconds or FLOPs of the run. */
export function phaseMarkers(run: ComparedRun, axis: EfficiencyAxis, color?: string): CurveMarker[] {
  const out: CurveMarker[] = []
  let at = 0
  let params: number | null = null
  let domain: string | null = null
  for (const p of run.phases) {
    if (p.params !== null && params !== null && p.params > params)
      out.push({
        x: at,
        kind: 'growth',
        label: `#${run.id} grew`,
        detail: `${formatParams(params)} → ${formatParams(p.params)} params`,
        key: `run:${run.id}`,
        color: runColor(run.id)
      })
    if (p.kind === 'train' && p.domain !== null && p.domain !== domain && at > 0)
      out.push({ x: at, kind: 'domain', label: p.domain, key: `run:${run.id}`, ...(color ? { color } : {}) })
    if (p.kind === 'train') domain = p.domain
    if (p.params !== null) params = p.params
    at += p[axis]
  }
  return out
}

/** AP of every run against wall time or FLOPs; the baselines dashed when an ELLE run is among them. */
export function apCurves(c: RunComparison, axis: EfficiencyAxis): CurveChartInput {
  const anyElle = c.runs.some((r) => r.elle)
  const several = c.runs.length > 1
  return {
    title: `AP against training ${axis === 'wallS' ? 'wall time' : 'FLOPs'}`,
    xAxis: axis === 'wallS' ? 'wall' : 'flops',
    xLabel: axis === 'wallS' ? 'training wall time' : 'training FLOPs',
    yLabel: 'AP (perplexity)',
    logY: false,
    lines: c.runs.map((r) => ({
      key: `run:${r.id}`,
      label: r.label,
      color: runColor(r.id),
      role: 'run' as const,
      x: r.ap.map((p) => p[axis]),
      y: r.ap.map((p) => p.value),
      dashed: anyElle && !r.elle,
      points: r.ap.length
    })),
    // with several runs a domain marker takes its run's colour: the runs reach a domain at different times
    markers: c.runs.flatMap((r) => phaseMarkers(r, axis, several ? runColor(r.id) : undefined))
  }
}

/** Rows of a run's matrix: stage ends when there are any and they are asked for (the paper's view), else every validation. */
export function matrixRows(run: ComparedRun, stream: readonly string[], mode: 'stage-ends' | 'all' = 'stage-ends'): { labels: string[]; values: Array<Array<number | null>> } {
  const ends = run.matrix.filter((r) => r.stageEnd)
  const useEnds = mode === 'stage-ends' && ends.length > 0
  const rows = useEnds ? ends : run.matrix
  return { labels: rows.map((r) => matrixRowLabel(r, stream, useEnds)), values: rows.map((r) => r.ppl) }
}

/** Every run's perplexity matrix, on one log colour scale (the range of all the rows shown). */
export function matrixHeatmaps(c: RunComparison, mode: 'stage-ends' | 'all' = 'stage-ends'): Array<{ run: ComparedRun; input: HeatmapInput }> {
  const maps = c.runs.map((run) => ({ run, rows: matrixRows(run, c.stream, mode) }))
  const all = maps.flatMap((m) => m.rows.values.flatMap((row) => row.filter((v): v is number => v !== null && v > 0)))
  const colorRange: [number, number] | undefined = all.length ? [Math.min(...all), Math.max(...all)] : undefined
  return maps.map(({ run, rows }) => ({
    run,
    input: {
      title: `${run.label} · ${run.experimentName}`,
      rows: rows.labels,
      cols: c.stream,
      values: rows.values,
      scale: 'log',
      format: 'ppl',
      ...(colorRange ? { colorRange } : {})
    }
  }))
}
