// The curve option builder: what each part of a line becomes (markers as markLines, band/envelope/raw as
// fainter series under the line), the log axis, the legend's point counts, the tooltip's exact values, and
// that ECharts' server-side renderer draws the option.
import { describe, expect, it } from 'vitest'
import * as echarts from 'echarts'
import type { EChartsOption, LineSeriesOption } from 'echarts'
import { curveOption, curveTooltip, lineNames, seriesMeta, seriesPoints } from '../../../src/shared/charts/curves'
import type { CurveChartInput, CurveLine } from '../../../src/shared/charts/types'

const x = [0, 10, 20, 30]
const line = (over: Partial<CurveLine> = {}): CurveLine => ({ key: 'run:1', label: '#1 elle', color: '#1f77b4', role: 'run', x, y: [5, 4, 3, 2.5], points: 4, ...over })
const input = (over: Partial<CurveChartInput> = {}): CurveChartInput => ({ xAxis: 'step', xLabel: 'step', yLabel: 'loss', logY: false, lines: [line()], markers: [], ...over })
const series = (o: { series?: unknown }) => o.series as LineSeriesOption[]

function svgOf(option: EChartsOption): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 640, height: 360 })
  chart.setOption(option)
  const svg = chart.renderToSVGString()
  chart.dispose()
  return svg
}

describe('curveOption', () => {
  it('draws markers as vertical markLines: domains dashed grey with the name, growth solid with the new shape', () => {
    const o = curveOption(
      input({
        markers: [
          { x: 10, kind: 'domain', label: 'fiction' },
          { x: 20, kind: 'growth', label: 'grew', detail: '4 layers × 256' }
        ]
      }),
      { interactive: true }
    )
    const ml = series(o).find((s) => s.markLine)!.markLine!
    const [domain, growth] = ml.data as Array<{ xAxis: number; lineStyle: { type: string; color: string }; label: { formatter: string } }>
    expect(domain).toMatchObject({ xAxis: 10, lineStyle: { type: 'dashed', color: '#9aa3ad' }, label: { formatter: 'fiction' } })
    expect(growth).toMatchObject({ xAxis: 20, lineStyle: { type: 'solid' }, label: { formatter: 'grew: 4 layers × 256' } })
    const svg = svgOf(curveOption(input({ markers: [{ x: 20, kind: 'growth', label: 'grew', detail: '4 layers × 256' }] }), { interactive: false }))
    expect(svg).toContain('grew: 4 layers × 256')
  })

  it('markers of a line share its name, so hiding the line hides them', () => {
    const o = curveOption(input({ markers: [{ x: 10, kind: 'growth', label: 'grew', key: 'run:1' }] }), { interactive: true })
    expect(
      series(o)
        .filter((s) => s.markLine)
        .map((s) => s.name)
    ).toEqual(['#1 elle'])
  })

  it('draws raw, min/max envelope and band as fainter series of the same name under the line', () => {
    const l = line({ raw: [6, 3, 4, 2], min: [4, 3, 2, 2], max: [6, 5, 4, 3], band: { lo: [4.5, 3.5, 2.5, 2], hi: [5.5, 4.5, 3.5, 3], kind: 'std' }, role: 'group' })
    const o = curveOption(input({ lines: [l, line({ key: 'run:2', label: '#2', role: 'member', color: '#d62728' })] }), { interactive: true })
    const parts = seriesMeta(o).map((m) => m.part)
    expect(parts.slice(0, 5).sort()).toEqual(['band', 'band-lo', 'envelope', 'main', 'raw'])
    const s = series(o)
    const of = (part: string, line = 0) => s[seriesMeta(o).findIndex((m) => m.part === part && m.line === line)]!
    expect(s.slice(0, 5).every((x) => x.name === '#1 elle')).toBe(true)
    // the legend's icon comes from the first series of a name: the main line
    expect(seriesMeta(o)[0]!.part).toBe('main')
    const main = of('main')
    expect(main.lineStyle!.width).toBe(2.5)
    expect((of('raw').lineStyle!.opacity as number) < 1 && (of('raw').lineStyle!.width as number) < (main.lineStyle!.width as number)).toBe(true)
    expect(of('band').areaStyle!.opacity).toBeLessThan(0.5)
    // the min/max envelope: one faint line through each bucket's min then max (one series per line, nothing stacked)
    expect(of('envelope').stack).toBeUndefined()
    expect(of('envelope').lineStyle).toMatchObject({ width: 1 })
    expect(of('envelope').lineStyle!.opacity as number).toBeLessThan(0.5)
    expect(seriesPoints(of('envelope').data)).toEqual([
      [0, 4],
      [0, 6],
      [10, 3],
      [10, 5],
      [20, 2],
      [20, 4],
      [30, 2],
      [30, 3]
    ])
    // areas are the difference stacked on the lower bound
    expect(seriesPoints(of('band').data)).toEqual([
      [0, 1],
      [10, 1],
      [20, 1],
      [30, 1]
    ])
    expect(of('band').stack).toBe(of('band-lo').stack)
    // a member: thin and faded
    const member = of('main', 1)
    expect(member.lineStyle).toMatchObject({ width: 1, opacity: 0.45 })
    expect(svgOf(curveOption(input({ lines: [l] }), { interactive: false }))).toContain('<path')
  })

  it('hands ECharts flat x, y pairs (one Float64Array per series) with NaN where a value is missing, and SSR draws the gap', () => {
    const o = curveOption(input({ lines: [line({ y: [5, null, 3, 2.5] })] }), { interactive: false })
    const main = series(o)[0]!.data as unknown
    expect(main).toBeInstanceOf(Float64Array)
    expect(Array.from(main as Float64Array)).toEqual([0, 5, 10, NaN, 20, 3, 30, 2.5])
    expect(seriesPoints(main)).toEqual([
      [0, 5],
      [10, null],
      [20, 3],
      [30, 2.5]
    ])
    // the gap breaks the line: two path segments (two move-tos) in the series' path
    const svg = svgOf(o)
    const paths = [...svg.matchAll(/<path d="(M[^"]*)"[^>]*stroke="#1f77b4"/g)].map((m) => m[1]!)
    expect(paths.length).toBeGreaterThan(0)
    expect(paths.some((d) => (d.match(/M/g) ?? []).length === 2)).toBe(true)
  })

  it('with more than 20 smoothed lines, draws their raw series only as the min/max envelope (fewer series to draw)', () => {
    const smoothed = (i: number): CurveLine =>
      line({ key: `run:${i}`, label: `#${i}`, y: [5, 4, 3, 2], raw: [5.5, 3.5, 3.2, 2.1], min: [5, 3, 3, 2], max: [6, 4.5, 3.5, 2.5], points: 400 })
    const parts = (n: number) => seriesMeta(curveOption(input({ lines: Array.from({ length: n }, (_, i) => smoothed(i + 1)) }), { interactive: true })).map((m) => m.part)
    // 20 lines: main, envelope and raw each
    expect(parts(20).filter((p) => p === 'raw')).toHaveLength(20)
    expect(parts(20)).toHaveLength(60)
    // 100 lines: 200 series, not 300; every line keeps its envelope
    const many = parts(100)
    expect(many.filter((p) => p === 'raw')).toHaveLength(0)
    expect(many.filter((p) => p === 'envelope')).toHaveLength(100)
    expect(many).toHaveLength(200)
    // a smoothed line without buckets (few points) keeps its raw line: there is no envelope to stand for it
    const plain = Array.from({ length: 30 }, (_, i) => line({ key: `run:${i}`, label: `#${i}`, raw: [5.5, 3.5, 3.2, 2.1] }))
    expect(seriesMeta(curveOption(input({ lines: plain }), { interactive: true })).filter((m) => m.part === 'raw')).toHaveLength(30)
  })

  it('uses a log y axis when asked and says so in the axis name; dashed lines stay dashed', () => {
    const o = curveOption(input({ logY: true, yLabel: 'perplexity', lines: [line({ dashed: true })] }), { interactive: false })
    expect(o.yAxis).toMatchObject({ type: 'log', name: 'perplexity (log)' })
    expect(series(o)[0]!.lineStyle!.type).toBe('dashed')
    const svg = svgOf(o)
    expect(svg).toContain('perplexity (log)')
    expect(svg).toContain('stroke-dasharray')
  })

  it('legend names how many stored points each line stands for; duplicate labels stay apart', () => {
    const o = curveOption(input({ lines: [line({ points: 100000 }), line({ key: 'run:2', points: 7 })] }), { interactive: false })
    expect(lineNames(input({ lines: [line(), line({ key: 'run:2' })] }).lines)).toEqual(['#1 elle (run:1)', '#1 elle (run:2)'])
    const svg = svgOf(o)
    expect(svg).toContain('#1 elle (run:1) · 100,000 pts')
    expect(svg).toContain('#1 elle (run:2) · 7 pts')
    expect(svg).toContain('step')
  })

  it('interactive: zoom inside and slider on x, starting at the requested range; static: no zoom, no animation', () => {
    const o = curveOption(input({ range: [10, 20] }), { interactive: true })
    expect(o.dataZoom).toEqual([
      expect.objectContaining({ type: 'inside', startValue: 10, endValue: 20 }),
      expect.objectContaining({ type: 'slider', startValue: 10, endValue: 20 })
    ])
    const s = curveOption(input(), { interactive: false })
    expect(s.dataZoom).toBeUndefined()
    expect(s.animation).toBe(false)
  })

  it('tooltip gives exact values: the value, a bucket min and max, the raw value, the band, and a nearby marker', () => {
    const l = line({ y: [5.123456, 4, 3, 2.5], min: [5, 3, 2, 2], max: [9.87654321, 5, 4, 3], raw: [5.5, 4, 3, 2.5] })
    const i = input({ lines: [l], markers: [{ x: 10, kind: 'growth', label: 'grew', detail: '3 layers' }] })
    const o = curveOption(i, { interactive: true })
    const tip = curveTooltip(i, ['#1 elle'], seriesMeta(o), [{ seriesIndex: 0, dataIndex: 0, axisValue: 0 }])
    expect(tip).toContain('<b>5.12346</b>')
    expect(tip).toContain('min 5, max 9.87654')
    expect(tip).toContain('raw 5.5')
    expect(tip).toContain('grew at 10: grew (3 layers)')
  })
})
