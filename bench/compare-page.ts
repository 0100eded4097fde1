// The browser side of `npm run bench:compare`: asks runs.series over the real HTTP transport and draws the answer
// with the workbench's own option builder (src/shared/charts/curves.ts) in ECharts, timing each part.
import * as echarts from 'echarts/core'
import { LineChart } from 'echarts/charts'
import { DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, TitleComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'
import { curveOption } from '../src/shared/charts/curves'
import { SeriesResult, type SeriesQuery } from '../src/shared/series'

echarts.use([LineChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, MarkLineComponent, TitleComponent, CanvasRenderer])

export interface DrawTiming {
  requestMs: number
  /** of requestMs: until the body is in (engine, contract check, JSON encode, HTTP) */
  fetchMs: number
  /** of requestMs: JSON.parse */
  parseMs: number
  /** of requestMs: the contract's check, as the workbench's client does it */
  validateMs: number
  optionMs: number
  renderMs: number
  totalMs: number
  bytes: number
  lines: number
  points: number
  drawn: number
}

let chart: echarts.EChartsType | null = null
// the node tsconfig has no DOM types: the few browser globals used here, typed by hand
const page = globalThis as unknown as { document: { getElementById(id: string): HTMLElementLike | null }; requestAnimationFrame(cb: () => void): void; bench?: unknown }
type HTMLElementLike = Parameters<typeof echarts.init>[0]

async function draw(query: SeriesQuery, logY: boolean): Promise<DrawTiming> {
  const t0 = performance.now()
  const response = await fetch('/api/rpc/runs.series', { method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify(query) })
  const text = await response.text()
  if (!response.ok) throw new Error(text)
  const tf = performance.now()
  const body = JSON.parse(text) as { result: unknown }
  const tp = performance.now()
  const result = SeriesResult.parse(body.result)
  const t1 = performance.now()
  const c = result.charts[0]!
  const option = curveOption({ xAxis: result.x, xLabel: result.xLabel, yLabel: c.yLabel, logY, lines: c.lines, markers: c.markers, range: result.range }, { interactive: true })
  const t2 = performance.now()
  chart ??= echarts.init(page.document.getElementById('chart')!, null, { renderer: 'canvas' })
  const rendered = new Promise<void>((resolve) => chart!.on('finished', () => resolve()))
  chart.setOption(option, { replaceMerge: ['series'] })
  await rendered
  chart.off('finished')
  // the frame that shows it
  await new Promise<void>((resolve) => page.requestAnimationFrame(() => resolve()))
  const t3 = performance.now()
  return {
    requestMs: t1 - t0,
    fetchMs: tf - t0,
    parseMs: tp - tf,
    validateMs: t1 - tp,
    optionMs: t2 - t1,
    renderMs: t3 - t2,
    totalMs: t3 - t0,
    bytes: text.length,
    lines: c.lines.length,
    points: c.lines.reduce((s, l) => s + l.points, 0),
    drawn: c.lines.reduce((s, l) => s + l.x.length, 0)
  }
}

page.bench = { draw }
