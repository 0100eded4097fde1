// The curves query (`runs.series`, issue 15): any recorded series of any runs against step, tokens, wall time or
// FLOPs; smoothed on the whole series, min/max-bucketed over the asked range, optionally grouped over seeds with a
// band; with markers where each domain's stage starts and where the model grew (its new shape in the detail).
import type { CurveLine, CurveMarker, XAxisKind } from '../../../shared/charts/types'
import { groupColor, runColor } from '../../../shared/charts/palette'
import { PHASE_KINDS, SERIES } from '../../../shared/metrics'
import { formatParams } from '../../../shared/plot'
import { SERIES_QUERY_DEFAULT_BUCKETS, type SeriesChart, type SeriesQuery, type SeriesResult } from '../../../shared/series'
import {
  bucketMinMax,
  bucketSlices,
  compactLine,
  groupLines,
  slicePoints,
  sliceBuckets,
  smooth,
  upperBound,
  lowerBound,
  X_LABELS,
  yLabelOf,
  type Bucketed
} from '../../../shared/series/index'
import type { Grouping, Smoothing } from '../../../shared/view-state'
import { configFacts } from '../compare/compare'
import type { ExperimentStore } from '../store/store'
import type { PhaseStart, SeriesColumns } from '../store/series'

/** A query that cannot be answered as asked (a bad range); the message names the field. */
export class SeriesQueryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SeriesQueryError'
  }
}

/** Reads a series' columns; the engine passes a cached reader (see cache.ts). */
export type ColumnReader = (runId: number, name: string, x: XAxisKind) => SeriesColumns

interface RunInfo {
  id: number
  label: string
  /** the key of its group (null when not grouping) */
  group: string | null
  shapes: Shape[]
}

/** The model shape before each stage (after that stage's growth), from the run's config. */
interface Shape {
  layers: number
  heads: number
  headSize: number
  grew: boolean
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)

function shapesOf(config: unknown): Shape[] {
  const c = isRecord(config) ? config : {}
  const model = isRecord(c.model) ? c.model : {}
  let layers = num(model.layers)
  let heads = num(model.heads)
  const headSize = num(model.headSize)
  const stages = Array.isArray(c.stages) ? c.stages : []
  return stages.map((s) => {
    const grow = isRecord(s) && isRecord(s.grow) ? s.grow : {}
    const dl = num(grow.layers)
    const dh = num(grow.heads)
    layers += dl
    heads += dh
    return { layers, heads, headSize, grew: dl > 0 || dh > 0 || num(grow.ffn) > 0 }
  })
}

function groupKeyOf(by: Grouping['by'], run: { id: number; experimentName: string }, method: string, sweep: string | null): string | null {
  if (by === 'experiment') return run.experimentName
  if (by === 'method') return method
  if (by === 'sweep') return sweep ?? `run ${run.id} (no sweep)`
  return null
}

const xOf = (p: PhaseStart, x: XAxisKind): number => (x === 'step' ? p.step : x === 'tokens' ? p.tokens : x === 'wall' ? p.wall : p.flops)

/** A run's markers: the start of each domain's training stage, and each growth (at its warm-up, or its stage when there is none). */
function markersOf(starts: readonly PhaseStart[], info: RunInfo, x: XAxisKind, key: string, color: string): CurveMarker[] {
  const markers: CurveMarker[] = []
  const seenStage = new Set<number>()
  const grownStage = new Set<number>()
  let prevParams: number | null = null
  for (const p of starts) {
    const stage = p.phase.stage
    if (stage === null) continue
    const shape = info.shapes[stage]
    const params = p.value !== null && p.value > 0 ? p.value : null
    const grew = stage > 0 && !grownStage.has(stage) && (shape?.grew === true || (params !== null && prevParams !== null && params > prevParams))
    if (grew) {
      grownStage.add(stage)
      const parts = shape ? [`${shape.layers} layers`, `${shape.heads} heads`, `d ${shape.heads * shape.headSize}`] : []
      if (params !== null) parts.push(`${formatParams(params)} params`)
      markers.push({ x: xOf(p, x), kind: 'growth', label: 'grow', ...(parts.length ? { detail: parts.join(' · ') } : {}), key, color })
    }
    if (p.phase.kind === PHASE_KINDS.train && !seenStage.has(stage)) {
      seenStage.add(stage)
      markers.push({ x: xOf(p, x), kind: 'domain', label: p.phase.domain ?? `stage ${stage}`, key, color })
    }
    if (params !== null) prevParams = params
  }
  return markers
}

/** Markers identical for several lines are drawn once, without a line (the common case: same steps). */
function mergeMarkers(markers: readonly CurveMarker[]): CurveMarker[] {
  const bySig = new Map<string, CurveMarker[]>()
  for (const m of markers) {
    const sig = JSON.stringify([m.kind, m.label, m.x, m.detail ?? null])
    const list = bySig.get(sig)
    if (list) list.push(m)
    else bySig.set(sig, [m])
  }
  return [...bySig.values()]
    .map((list) => {
      if (new Set(list.map((m) => m.key)).size <= 1) return list[0]!
      const { key: _key, color: _color, ...shared } = list[0]!
      return shared
    })
    .sort((a, b) => a.x - b.x)
}

function finiteExtent(columns: Iterable<SeriesColumns>): [number, number] | null {
  let lo = Infinity
  let hi = -Infinity
  for (const c of columns) {
    if (c.x.length === 0) continue
    lo = Math.min(lo, c.x[0]!)
    hi = Math.max(hi, c.x[c.x.length - 1]!)
  }
  return lo <= hi ? [lo, hi] : null
}

const inRange = (x: Float64Array, range: readonly [number, number]): number => upperBound(x, range[1]) - lowerBound(x, range[0])

/**
 * Buckets per line when the query names none: 800 for up to 31 lines, fewer beyond (100 lines: 250, about 4 px each
 * on a 1,000 px plot), never under 200, so a chart of many runs stays within about 25,000 drawn points; every bucket
 * keeps its min and max either way, and a zoom re-buckets its range. (At 40,000, 100 runs' first draw in the Compare
 * view took 2.07 s against 1.80 s: docs/benchmarks.md.)
 */
export function defaultBuckets(lines: number): number {
  return Math.max(200, Math.min(SERIES_QUERY_DEFAULT_BUCKETS, Math.floor(25_000 / Math.max(1, lines))))
}

// Smoothed copies of the series the store keeps in memory, by the identity of the kept array: a redraw (a zoom, a
// smoothing toggled back) does not smooth 10 million points again, and a series that changed is a new array.
const smoothedCache = new WeakMap<ArrayLike<number>, Map<string, Float64Array>>()
function smoothedOf(y: Float64Array, smoothing: Smoothing): Float64Array {
  const key = `${smoothing.kind}:${smoothing.param}`
  let byKind = smoothedCache.get(y)
  const hit = byKind?.get(key)
  if (hit) return hit
  const out = smooth(y, smoothing)
  if (!byKind) smoothedCache.set(y, (byKind = new Map()))
  // one smoothing per series is kept: the one drawn now
  byKind.clear()
  byKind.set(key, out)
  return out
}

export interface QueryOptions {
  /** read the columns (default: the store's series reader) */
  read?: ColumnReader
  /** answer an overview from the slice summaries (default true); false buckets every point, for tests and the bench */
  summaries?: boolean
}

/**
 * An overview: the whole range of plain lines against step. Its buckets are whole 64-step slices either way, and
 * the engine answers it from the slice summaries (metric_summaries) without reading the points.
 */
export const isOverview = (query: SeriesQuery): boolean =>
  query.x === 'step' &&
  (query.range ?? null) === null &&
  !(query.smoothing && query.smoothing.kind !== 'none' && query.smoothing.param > 0) &&
  (query.grouping?.by ?? 'none') === 'none'

export function querySeries(store: ExperimentStore, query: SeriesQuery, options: QueryOptions = {}): SeriesResult {
  const read = options.read
  const range = query.range ?? null
  if (range !== null) {
    if (!Number.isFinite(range[0]) || !Number.isFinite(range[1])) throw new SeriesQueryError(`range: both ends must be finite numbers, got [${range[0]}, ${range[1]}]`)
    if (!(range[0] < range[1])) throw new SeriesQueryError(`range: the start (${range[0]}) must be below the end (${range[1]})`)
  }
  const seen = new Set<number>()
  for (const id of query.runs) {
    if (seen.has(id)) throw new SeriesQueryError(`runs: run ${id} is listed twice`)
    seen.add(id)
  }
  const buckets = query.buckets ?? defaultBuckets(query.runs.length)
  const smoothing: Smoothing = query.smoothing ?? { kind: 'none', param: 0 }
  const grouping: Grouping = query.grouping ?? { by: 'none', stat: 'mean', band: 'none', members: false }
  const x = query.x
  const series = store.series
  const readColumns: ColumnReader = read ?? ((id, name, xs) => series.columns(id, name, xs))

  const infos: RunInfo[] = query.runs.map((id) => {
    const run = store.getRun(id)
    const config = store.getExperimentConfig(run.experimentId)
    const facts = configFacts(config)
    return {
      id,
      label: `#${id} ${run.experimentName}`,
      group: groupKeyOf(grouping.by, run, facts.method, grouping.by === 'sweep' ? series.sweepGroup(id) : null),
      shapes: shapesOf(config)
    }
  })
  const smoothed = smoothing.kind !== 'none' && smoothing.param > 0
  const lineKey = (info: RunInfo): string => (info.group === null ? `run:${info.id}` : `group:${grouping.by}:${info.group}`)
  const lineColor = (info: RunInfo): string => (info.group === null ? runColor(info.id) : groupColor(info.group))

  // markers come from the `params` series (one point per phase start); a run without it falls back to the metric's own phases
  const starts = new Map<number, PhaseStart[]>()
  const startsOf = (id: number, metric: string): PhaseStart[] => {
    let s = starts.get(id)
    if (!s) {
      s = series.phaseStarts(id, SERIES.params)
      if (s.length === 0) s = series.phaseStarts(id, metric)
      else starts.set(id, s)
    }
    return s
  }

  const fromSummaries = options.summaries !== false && isOverview(query) && series.hasSummaries
  const toLine = (info: RunInfo, role: 'run' | 'member', b: Bucketed, rawOf: boolean): CurveLine => ({
    key: `run:${info.id}`,
    label: info.label,
    color: role === 'run' ? runColor(info.id) : lineColor(info),
    role,
    x: b.x,
    y: b.y,
    ...(b.min ? { min: b.min, max: b.max } : {}),
    ...(rawOf ? { raw: b.also[0] } : {}),
    ...(role === 'member' ? { dashed: true } : {}),
    points: b.points
  })
  /** The overview from the summaries: per run its extent (two index seeks), then its slices bucketed (a short series: its points). */
  const overview = (metric: string): { lines: CurveLine[]; extent: [number, number] | null; present: RunInfo[] } | null => {
    const extents = new Map<number, [number, number]>()
    for (const info of infos) {
      const e = series.stepExtent(info.id, metric)
      if (e) extents.set(info.id, e)
    }
    const present = infos.filter((i) => extents.has(i.id))
    if (present.length === 0) return { lines: [], extent: null, present }
    const extent: [number, number] = [Math.min(...[...extents.values()].map((e) => e[0])), Math.max(...[...extents.values()].map((e) => e[1]))]
    const aligned = sliceBuckets(extent, buckets)
    if (aligned === null) return null
    const lines = present.map((info) => {
      const slices = series.summaries(info.id, metric)
      if (slicePoints(slices) > aligned.buckets) return toLine(info, 'run', bucketSlices(slices, aligned.range, aligned.buckets), false)
      const c = readColumns(info.id, metric, x)
      return toLine(info, 'run', bucketMinMax(c.x, c.y, aligned.range, aligned.buckets), false)
    })
    return { lines, extent, present }
  }

  const charts: SeriesChart[] = query.metrics.map((metric) => {
    const summarized = fromSummaries ? overview(metric) : null
    if (summarized) {
      const { lines, extent, present } = summarized
      for (const line of lines) compactLine(line)
      const markers = mergeMarkers(present.flatMap((info) => markersOf(startsOf(info.id, metric), info, x, lineKey(info), lineColor(info))))
      return { metric, yLabel: yLabelOf(metric), lines, markers, extent }
    }
    const columns = new Map<number, SeriesColumns>()
    for (const info of infos) {
      const c = readColumns(info.id, metric, x)
      if (c.x.length > 0) columns.set(info.id, c)
    }
    const extent = finiteExtent(columns.values())
    // the whole range against step: buckets of whole 64-step slices, as the summaries answer it (same lines either way)
    const aligned = range === null && x === 'step' && extent !== null ? sliceBuckets(extent, buckets) : null
    const span: [number, number] | null = range ?? aligned?.range ?? extent
    const lineBuckets = aligned?.buckets ?? buckets
    const present = infos.filter((i) => columns.has(i.id))
    const values = new Map<number, Float64Array>()
    for (const info of present) {
      const c = columns.get(info.id)!
      values.set(info.id, smoothed ? smoothedOf(c.y, smoothing) : c.y)
    }
    const runLine = (info: RunInfo, role: 'run' | 'member'): CurveLine => {
      const c = columns.get(info.id)!
      return toLine(info, role, bucketMinMax(c.x, values.get(info.id)!, span, lineBuckets, smoothed ? { also: [c.y], minMaxOf: c.y } : {}), smoothed)
    }
    const lines: CurveLine[] = []
    if (grouping.by === 'none') for (const info of present) lines.push(runLine(info, 'run'))
    else if (span !== null) {
      const groups = new Map<string, RunInfo[]>()
      for (const info of present) {
        const list = groups.get(info.group!)
        if (list) list.push(info)
        else groups.set(info.group!, [info])
      }
      for (const [key, members] of groups) {
        const band = grouping.band
        const g = groupLines(
          members.map((m) => ({ x: columns.get(m.id)!.x, y: values.get(m.id)! })),
          { stat: grouping.stat, band, range: span, buckets: lineBuckets }
        )
        const raw = smoothed
          ? groupLines(
              members.map((m) => columns.get(m.id)!),
              { stat: grouping.stat, band: 'none', range: span, buckets: lineBuckets }
            )
          : null
        lines.push({
          key: `group:${grouping.by}:${key}`,
          label: `${key} (${members.length} run${members.length === 1 ? '' : 's'})`,
          color: groupColor(key),
          role: 'group',
          x: g.x,
          y: g.y,
          ...(raw ? { raw: raw.y } : {}),
          ...(band !== 'none' && members.length > 1 && g.lo && g.hi ? { band: { lo: g.lo, hi: g.hi, kind: band } } : {}),
          points: members.reduce((s, m) => s + inRange(columns.get(m.id)!.x, span), 0)
        })
        if (grouping.members) for (const m of members) lines.push(runLine(m, 'member'))
      }
    }
    // 8 significant digits (float32 precision; min rounded down, max up): half the bytes of full precision (shared/series/compact.ts)
    for (const line of lines) compactLine(line)
    const markers = mergeMarkers(present.flatMap((info) => markersOf(startsOf(info.id, metric), info, x, lineKey(info), lineColor(info))))
    return { metric, yLabel: yLabelOf(metric), lines, markers, extent }
  })
  const available = [...new Set(query.runs.flatMap((id) => series.names(id)))].sort()
  return { x, xLabel: X_LABELS[x], range, charts, available }
}
