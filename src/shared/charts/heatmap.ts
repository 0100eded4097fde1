// HeatmapInput -> ECharts option: a stage × domain matrix with its values written in the cells. Perplexities
// are coloured on a log scale (viridis), differences on a diverging blue-white-red scale centred on 0; the
// colour runs on a transformed value (dimension 2), the cell text and tooltip on the real one (dimension 3).
import type { EChartsOption, HeatmapSeriesOption } from 'echarts'
import { viridis } from '../plot'
import { escapeHtml, formatCell, formatExact } from './format'
import type { HeatmapInput } from './types'

export interface HeatmapOptionOpts {
  interactive: boolean
  width?: number
  height?: number
}

const DIVERGING = ['#2166ac', '#67a9cf', '#d1e5f0', '#f7f7f7', '#fddbc7', '#ef8a62', '#b2182b']
const VIRIDIS = Array.from({ length: 9 }, (_, k) => viridis(k / 8))

/** The colour scale's domain: log10 of the perplexities' range, or ±the largest difference. */
export function heatmapScale(input: HeatmapInput): { min: number; max: number } {
  const all = input.values.flatMap((r) => r.filter((v): v is number => v !== null && Number.isFinite(v) && (input.scale !== 'log' || v > 0)))
  if (all.length === 0) return input.scale === 'log' ? { min: 0, max: 1 } : { min: -1, max: 1 }
  if (input.scale === 'diverging') {
    const m = Math.max(...all.map(Math.abs)) || 1
    return { min: -m, max: m }
  }
  const lo = Math.log10(Math.min(...all))
  const hi = Math.log10(Math.max(...all))
  return hi > lo ? { min: lo, max: hi } : { min: lo - 0.05, max: hi + 0.05 }
}

export function heatmapOption(input: HeatmapInput, opts: HeatmapOptionOpts): EChartsOption {
  const scale = heatmapScale(input)
  const log = input.scale === 'log'
  const span = scale.max - scale.min
  // dark text on light cells: the yellow end of viridis, the pale middle of the diverging scale
  const ink = (c: number) => {
    const t = (c - scale.min) / (span || 1)
    return (log ? t > 0.55 : Math.abs(t - 0.5) < 0.3) ? '#1d2733' : '#ffffff'
  }
  const data: NonNullable<HeatmapSeriesOption['data']> = []
  input.values.forEach((row, i) =>
    row.forEach((v, j) => {
      if (v === null || !Number.isFinite(v) || (log && v <= 0)) return
      const c = log ? Math.log10(v) : v
      data.push({ value: [j, i, c, v], label: { color: ink(c) } })
    })
  )
  const fontSize = input.rows.length > 16 || input.cols.length > 12 ? 9 : 11
  const showText = input.rows.length <= 40
  const name = log ? 'perplexity (log)' : 'difference'
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif' },
    title: input.title ? { text: input.title, left: 10, top: 4, textStyle: { fontSize: 13, fontWeight: 600, color: '#1d2733' } } : undefined,
    grid: { left: 150, right: 24, top: input.title ? 64 : 40, bottom: 64 },
    xAxis: {
      type: 'category',
      data: input.cols,
      name: 'domain',
      nameLocation: 'middle',
      nameGap: 24,
      position: 'top',
      axisLabel: { color: '#394653', interval: 0 },
      axisTick: { show: false },
      splitArea: { show: true, areaStyle: { color: ['#f0f2f5'] } }
    },
    yAxis: {
      type: 'category',
      data: input.rows,
      inverse: true,
      name: 'stage',
      nameLocation: 'middle',
      nameGap: 136,
      axisLabel: { color: '#394653', width: 128, overflow: 'truncate' },
      axisTick: { show: false }
    },
    visualMap: {
      type: 'continuous',
      dimension: 2,
      min: scale.min,
      max: scale.max,
      calculable: false,
      orient: 'horizontal',
      left: 150,
      bottom: 8,
      itemHeight: 180,
      itemWidth: 10,
      text: log ? [`${formatExact(10 ** scale.max)}`, `${name}  ${formatExact(10 ** scale.min)}`] : [`+${formatExact(scale.max)}`, `${name}  ${formatExact(scale.min)}`],
      textStyle: { color: '#394653', fontSize: 11 },
      inRange: { color: log ? VIRIDIS : DIVERGING },
      seriesIndex: 0
    },
    tooltip: opts.interactive
      ? {
          trigger: 'item',
          confine: true,
          formatter: (p) => {
            const one = Array.isArray(p) ? p[0] : p
            const v = (one?.value ?? []) as number[]
            const [j, i] = [v[0] ?? 0, v[1] ?? 0]
            const iv = input.intervals?.[i]?.[j]
            const text = `${escapeHtml(input.rows[i] ?? '')} · ${escapeHtml(input.cols[j] ?? '')}: <b>${formatExact(v[3])}</b>`
            return iv ? `${text}<br>95% interval [${formatExact(iv.lo)}, ${formatExact(iv.hi)}]` : text
          }
        }
      : undefined,
    series: [
      {
        type: 'heatmap',
        name,
        data,
        encode: { x: 0, y: 1 },
        label: { show: showText, fontSize, formatter: (p) => formatCell(input.format, ((p.value ?? []) as number[])[3] ?? NaN) },
        itemStyle: { borderColor: '#ffffff', borderWidth: 1 },
        emphasis: { itemStyle: { borderColor: '#1d2733', borderWidth: 1.5 } }
      }
    ]
  }
}

/** A size that fits the matrix: wide enough for its columns, tall enough for its rows. */
export function heatmapSize(input: HeatmapInput): { width: number; height: number } {
  const cw = Math.max(56, Math.min(84, Math.floor(520 / Math.max(1, input.cols.length))))
  const ch = input.rows.length > 16 ? 14 : 26
  // at least as wide as the colour scale and its end labels
  return { width: Math.max(480, 150 + 24 + cw * input.cols.length), height: (input.title ? 64 : 40) + 64 + ch * input.rows.length }
}
