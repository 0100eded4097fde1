// CurveChartInput -> ECharts option, the one curve drawing of the workbench: the views call it interactive
// (zoom, slider, scrolling legend), the report and docs/img call it static (no animation, the whole legend
// laid out so an SVG file shows every line). Every part of a line (raw, min/max envelope, band) is a series
// with the line's name, so a click on its legend entry hides all of them together.
import type { EChartsOption, LineSeriesOption } from 'echarts'
import { escapeHtml, formatExact, formatX } from './format'
import type { CurveChartInput, CurveLine, CurveMarker } from './types'
import { layoutMarkerLabels, MARKER_LABEL_SLOTS, xToPx } from './markers'

export interface CurveOptionOpts {
  interactive: boolean
  width?: number
  height?: number
}

type Part = 'main' | 'raw' | 'envelope' | 'band-lo' | 'band' | 'markers'

/** What each series of the option draws (by series index): the tooltip reads exact values back from the input through it. */
export interface SeriesMeta {
  line: number
  part: Part
}

type Values = ReadonlyArray<number | null>

/**
 * A series' points as ECharts takes them fastest: one flat Float64Array of x, y pairs, NaN for a missing value (a
 * gap in the line). ECharts deep-copies an option's point arrays on every setOption; 100 lines of [x, y] pairs
 * were ~240,000 small arrays to build, copy and collect, half of the first draw's chart time (docs/benchmarks.md).
 */
export type FlatPoints = Float64Array

/** A line series whose points are flat: ECharts' runtime reads typed-array data (its SOURCE_FORMAT_TYPED_ARRAY), its typings list arrays only. */
type FlatLineSeries = Omit<LineSeriesOption, 'data'> & { data: FlatPoints | [] }

const flat = (n: number, fill: (out: Float64Array) => void): FlatPoints => {
  const out = new Float64Array(2 * n)
  fill(out)
  return out
}
const num = (v: number | null | undefined): number => (v === null || v === undefined ? NaN : v)

const pairs = (x: readonly number[], y: Values): FlatPoints =>
  flat(x.length, (out) => {
    for (let i = 0; i < x.length; i++) ((out[2 * i] = x[i]!), (out[2 * i + 1] = num(y[i])))
  })
const diff = (x: readonly number[], lo: Values, hi: Values): FlatPoints =>
  flat(x.length, (out) => {
    for (let i = 0; i < x.length; i++) ((out[2 * i] = x[i]!), (out[2 * i + 1] = num(hi[i]) - num(lo[i])))
  })

/** Each bucket's min then max at its x: a line through them covers the bucket's range; a missing bound leaves a gap. */
const zigzag = (x: readonly number[], lo: Values, hi: Values): FlatPoints =>
  flat(2 * x.length, (out) => {
    for (let i = 0; i < x.length; i++) {
      const a = num(lo[i])
      const b = num(hi[i])
      const gap = Number.isNaN(a) || Number.isNaN(b)
      out[4 * i] = out[4 * i + 2] = x[i]!
      out[4 * i + 1] = gap ? NaN : a
      out[4 * i + 3] = gap ? NaN : b
    }
  })

/** A series' data back as [x, y] pairs (null: a gap), whether flat or pairs: for tests and tools that read an option. */
export function seriesPoints(data: unknown): Array<[number, number | null]> {
  if (data instanceof Float64Array) {
    const out: Array<[number, number | null]> = []
    for (let i = 0; i + 1 < data.length; i += 2) out.push([data[i]!, Number.isNaN(data[i + 1]!) ? null : data[i + 1]!])
    return out
  }
  return Array.isArray(data) ? (data as Array<[number, number | null]>).map(([x, y]) => [x, y ?? null]) : []
}

/** Legend names: the labels, made unique (two runs may share a label) so each legend entry toggles one line. */
export function lineNames(lines: readonly CurveLine[]): string[] {
  const seen = new Map<string, number>()
  for (const l of lines) seen.set(l.label, (seen.get(l.label) ?? 0) + 1)
  return lines.map((l) => ((seen.get(l.label) ?? 0) > 1 ? `${l.label} (${l.key})` : l.label))
}

const LEGEND_LEFT = 10
const LEGEND_ITEM_H = 14
const LEGEND_ROW_H = 22
/** A legend entry's text: the line's name and how many stored points it stands for. */
export const legendText = (name: string, points: number): string => `${name} · ${points.toLocaleString('en-US')} pts`

function markerSeries(markers: readonly CurveMarker[], name: string, slotOf: ReadonlyMap<CurveMarker, number | null>): FlatLineSeries {
  return {
    type: 'line',
    name,
    data: [],
    silent: true,
    markLine: {
      silent: false,
      symbol: ['none', 'none'],
      animation: false,
      data: markers.map((m) => {
        const growth = m.kind === 'growth'
        const text = growth && m.detail ? `${m.label}: ${m.detail}` : m.label
        return {
          xAxis: m.x,
          name: text,
          lineStyle: { color: growth ? (m.color ?? '#333') : (m.color ?? '#9aa3ad'), type: growth ? 'solid' : 'dashed', width: growth ? 1.5 : 1, opacity: growth ? 0.9 : 0.8 },
          // labels too close to another are moved along their line or hidden (the tooltip still lists them)
          label: {
            show: slotOf.get(m) !== null,
            formatter: text,
            position: MARKER_LABEL_SLOTS[slotOf.get(m) ?? 0],
            color: growth ? (m.color ?? '#333') : '#6b7682',
            fontSize: 10
          }
        }
      })
    }
  }
}

const GRID_LEFT = 64
const GRID_RIGHT = 28

/** Each marker's label slot (null: hidden) from its pixel position on the x axis the option draws (or the zoomed range). */
function markerSlots(input: CurveChartInput, plotWidth: number): Map<CurveMarker, number | null> {
  let lo = Infinity
  let hi = -Infinity
  for (const l of input.lines)
    for (const v of l.x) {
      if (v < lo) lo = v
      if (v > hi) hi = v
    }
  for (const m of input.markers) if (m.x < lo) lo = m.x
  if (!Number.isFinite(hi)) hi = Math.max(...input.markers.map((m) => m.x))
  const [min, max] = input.range ?? [lo >= 0 && lo <= 0.25 * hi ? 0 : lo, hi]
  const slots = layoutMarkerLabels(input.markers.map((m) => xToPx(m.x, min, max, plotWidth)))
  return new Map(input.markers.map((m, i) => [m, slots[i]!]))
}

/** Above this many lines, a smoothed line's raw series is drawn only as its min/max envelope. */
export const RAW_LINES_MAX = 20

export function curveOption(input: CurveChartInput, opts: CurveOptionOpts): EChartsOption & { __meta?: SeriesMeta[] } {
  const names = lineNames(input.lines)
  const series: FlatLineSeries[] = []
  const meta: SeriesMeta[] = []
  const push = (s: FlatLineSeries, m: SeriesMeta) => (series.push(s), meta.push(m))
  const totalPoints = input.lines.reduce((n, l) => n + l.x.length, 0)
  const rawAsEnvelope = input.lines.length > RAW_LINES_MAX

  input.lines.forEach((l, i) => {
    const name = names[i]!
    const member = l.role === 'member'
    // flat data needs its dimensions named (ECharts cannot detect them from a typed array)
    const base = { type: 'line' as const, name, dimensions: ['x', 'y'], connectNulls: false, showSymbol: false, symbol: 'none' as const, emphasis: { disabled: true } }
    // areas between two values: an invisible lower series and the difference stacked on it (stacking works in data space, so on log axes too)
    const area = (lo: Values, hi: Values, part: 'band', opacity: number, z: number) => {
      const stack = `${part}:${l.key}`
      push({ ...base, data: pairs(l.x, lo), stack, stackStrategy: 'all', lineStyle: { opacity: 0 }, silent: true, z }, { line: i, part: `${part}-lo` })
      push({ ...base, data: diff(l.x, lo, hi), stack, stackStrategy: 'all', lineStyle: { opacity: 0 }, areaStyle: { color: l.color, opacity }, silent: true, z }, { line: i, part })
    }
    const few = l.x.length <= 40
    push(
      {
        ...base,
        data: pairs(l.x, l.y),
        showSymbol: few && !member,
        symbol: few && !member ? 'circle' : 'none',
        symbolSize: 4,
        itemStyle: { color: l.color },
        lineStyle: { color: l.color, width: member ? 1 : l.role === 'group' ? 2.5 : 1.8, opacity: member ? 0.45 : 1, type: l.dashed ? 'dashed' : 'solid' },
        z: member ? 3 : 4
      },
      { line: i, part: 'main' }
    )
    // after the main series: the legend takes its icon from the first series of a name
    if (l.band) area(l.band.lo, l.band.hi, 'band', member ? 0.08 : 0.2, 1)
    // the min/max envelope: one faint line through each bucket's min and max (x, min → x, max → next x), not a
    // stacked area of two series: at 100 lines, stacking 200 series took most of ECharts' drawing time
    if (l.min && l.max)
      push({ ...base, data: zigzag(l.x, l.min, l.max), lineStyle: { color: l.color, width: 1, opacity: member ? 0.12 : 0.3 }, silent: true, z: 1 }, { line: i, part: 'envelope' })
    // with many lines a smoothed line's raw series is drawn only as its min/max envelope (the raw values' range per
    // bucket): 100 smoothed runs are 200 series instead of 300, and the raw means still show in the tooltip
    if (l.raw && !(rawAsEnvelope && l.min && l.max))
      push({ ...base, data: pairs(l.x, l.raw), lineStyle: { color: l.color, width: 1, opacity: member ? 0.15 : 0.3 }, silent: true, z: 2 }, { line: i, part: 'raw' })
  })
  const width = opts.width ?? 640
  // where each marker lands on the plot (the x axis below: from 0 when the data starts near it, to the data's max)
  const slotOf = markerSlots(input, width - GRID_LEFT - GRID_RIGHT)
  // markers that belong to a line hide with it; the rest hang on a series of their own, outside the legend
  const byKey = new Map(input.lines.map((l, i) => [l.key, i]))
  const loose = input.markers.filter((m) => m.key === undefined || !byKey.has(m.key))
  if (loose.length) push(markerSeries(loose, '__markers', slotOf), { line: -1, part: 'markers' })
  for (const [key, i] of byKey) {
    const own = input.markers.filter((m) => m.key === key)
    if (own.length) push({ ...markerSeries(own, names[i]!, slotOf), color: input.lines[i]!.color }, { line: i, part: 'markers' })
  }

  // the views head their charts themselves; the title is drawn where the chart stands alone (exports, report)
  const title = opts.interactive ? undefined : input.title
  const titleH = title ? 26 : 4
  // a static legend wraps; estimate its rows (about 6.5 px per character) so the plot starts below it
  const entryW = (i: number) => 40 + legendText(names[i]!, input.lines[i]!.points).length * 6.5
  let rows = input.lines.length ? 1 : 0
  let used = 0
  input.lines.forEach((_, i) => {
    const w = entryW(i)
    if (used > 0 && used + w > width - 2 * LEGEND_LEFT) (rows++, (used = 0))
    used += w
  })
  const legendRows = opts.interactive ? Math.min(1, rows) : rows
  const top = titleH + 4 + legendRows * LEGEND_ROW_H + 18
  const points = new Map(names.map((n, i) => [n, input.lines[i]!.points]))
  const range = input.range ?? null

  const option: EChartsOption & { __meta?: SeriesMeta[] } = {
    animation: opts.interactive && totalPoints < 5000,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif' },
    title: title ? { text: title, left: LEGEND_LEFT, top: 4, textStyle: { fontSize: 13, fontWeight: 600, color: '#1d2733' } } : undefined,
    legend: {
      type: opts.interactive ? 'scroll' : 'plain',
      data: names,
      left: LEGEND_LEFT,
      // interactive: room on the right for the PNG and SVG buttons
      right: opts.interactive ? 100 : LEGEND_LEFT,
      top: titleH + 4,
      itemHeight: LEGEND_ITEM_H,
      itemWidth: 22,
      textStyle: { fontSize: 11, color: '#394653' },
      formatter: (name: string) => legendText(name, points.get(name) ?? 0)
    },
    grid: { left: GRID_LEFT, right: GRID_RIGHT, top, bottom: opts.interactive ? 84 : 48 },
    xAxis: {
      type: 'value',
      // from 0 when the data starts near it (steps, tokens, time and FLOPs all count from 0), else from the first x
      min: (v: { min: number; max: number }) => (v.min >= 0 && v.min <= 0.25 * v.max ? 0 : v.min),
      max: 'dataMax',
      name: input.xLabel,
      nameLocation: 'middle',
      nameGap: 28,
      nameTextStyle: { fontSize: 12, color: '#394653' },
      axisLabel: { formatter: (v: number) => formatX(input.xAxis, v), color: '#5d6b7a', hideOverlap: true },
      splitLine: { lineStyle: { color: '#edf0f3' } }
    },
    yAxis: {
      type: input.logY ? 'log' : 'value',
      scale: true,
      name: `${input.yLabel}${input.logY ? ' (log)' : ''}`,
      nameLocation: 'middle',
      nameGap: 48,
      nameTextStyle: { fontSize: 12, color: '#394653' },
      axisLabel: { color: '#5d6b7a', formatter: (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2) ? v.toExponential(0) : String(+v.toPrecision(4))) },
      splitLine: { lineStyle: { color: '#edf0f3' } }
    },
    tooltip: opts.interactive
      ? {
          trigger: 'axis',
          confine: true,
          axisPointer: { type: 'line', snap: false, animation: false },
          formatter: (params) => curveTooltip(input, names, meta, Array.isArray(params) ? params : [params])
        }
      : undefined,
    dataZoom: opts.interactive
      ? [
          { type: 'inside', xAxisIndex: 0, filterMode: 'none', ...(range ? { startValue: range[0], endValue: range[1] } : {}) },
          {
            type: 'slider',
            xAxisIndex: 0,
            filterMode: 'none',
            height: 18,
            bottom: 10,
            labelFormatter: (v: number) => formatX(input.xAxis, v),
            ...(range ? { startValue: range[0], endValue: range[1] } : {})
          }
        ]
      : undefined,
    series: series as unknown as LineSeriesOption[]
  }
  // not an ECharts key: the views' wrapper and tests read which series is which
  Object.defineProperty(option, '__meta', { value: meta, enumerable: false })
  return option
}

interface TipParam {
  seriesIndex?: number
  dataIndex?: number
  axisValue?: string | number
}

/** The axis tooltip: x, then per visible line its exact value (bucketed: value, min, max; smoothed: raw; group: band), then markers near x. */
export function curveTooltip(input: CurveChartInput, names: readonly string[], meta: readonly SeriesMeta[], params: readonly TipParam[]): string {
  const x = Number(params[0]?.axisValue ?? NaN)
  const rows: string[] = []
  let near: [number, number] | null = null
  for (const p of params) {
    const m = meta[p.seriesIndex ?? -1]
    if (!m || m.part !== 'main' || p.dataIndex === undefined) continue
    const l = input.lines[m.line]!
    const k = p.dataIndex
    const parts = [`<b>${formatExact(l.y[k])}</b>`]
    if (l.min && l.max && (l.min[k] !== l.max[k] || l.min[k] !== l.y[k])) parts.push(`min ${formatExact(l.min[k])}, max ${formatExact(l.max[k])}`)
    if (l.raw) parts.push(`raw ${formatExact(l.raw[k])}`)
    if (l.band) parts.push(`${l.band.kind} [${formatExact(l.band.lo[k])}, ${formatExact(l.band.hi[k])}]`)
    rows.push(
      `<span style="display:inline-block;width:10px;height:3px;margin-right:6px;vertical-align:middle;background:${l.color}"></span>${escapeHtml(names[m.line]!)}: ${parts.join(' · ')}`
    )
    const lo = l.x[Math.max(0, k - 1)]!
    const hi = l.x[Math.min(l.x.length - 1, k + 1)]!
    near = near ? [Math.min(near[0], lo), Math.max(near[1], hi)] : [lo, hi]
  }
  const marks = near ? input.markers.filter((m) => m.x >= near![0] && m.x <= near![1]) : []
  for (const m of marks)
    rows.push(`<i>${escapeHtml(m.kind === 'growth' ? 'grew' : 'domain')} at ${formatExact(m.x)}: ${escapeHtml(m.label)}${m.detail ? ` (${escapeHtml(m.detail)})` : ''}</i>`)
  return [`${escapeHtml(input.xLabel)} ${formatExact(x)}`, ...rows].join('<br>')
}

/** The series meta of an option built by curveOption (empty for other options). */
export const seriesMeta = (option: object): readonly SeriesMeta[] => (option as { __meta?: SeriesMeta[] }).__meta ?? []
