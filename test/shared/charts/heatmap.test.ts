// The heat-map option builder: values in cells (ppl with one decimal, differences signed), viridis on a log
// scale for perplexities, blue-white-red around 0 for differences, the interval on hover, named axes.
import { describe, expect, it } from 'vitest'
import * as echarts from 'echarts'
import type { HeatmapSeriesOption, VisualMapComponentOption } from 'echarts'
import { heatmapOption, heatmapScale, heatmapSize } from '../../../src/shared/charts/heatmap'
import type { HeatmapInput } from '../../../src/shared/charts/types'
import { viridis } from '../../../src/shared/plot'

const ppl = (over: Partial<HeatmapInput> = {}): HeatmapInput => ({
  title: '#1 elle',
  rows: ['after press', 'after fiction'],
  cols: ['press', 'fiction'],
  values: [
    [12.345, null],
    [15, 1200]
  ],
  intervals: [
    [{ lo: 11.9, hi: 12.8 }, null],
    [null, null]
  ],
  scale: 'log',
  format: 'ppl',
  ...over
})

function svgOf(input: HeatmapInput): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, ...heatmapSize(input) })
  chart.setOption(heatmapOption(input, { interactive: false }))
  const svg = chart.renderToSVGString()
  chart.dispose()
  return svg
}

describe('heatmapOption', () => {
  it('writes perplexities with one decimal in the cells on a log viridis scale, and names both axes', () => {
    const o = heatmapOption(ppl(), { interactive: true })
    const vm = o.visualMap as VisualMapComponentOption & { inRange: { color: string[] }; min: number; max: number }
    expect(vm.inRange.color[0]).toBe(viridis(0))
    expect(vm.min).toBeCloseTo(Math.log10(12.345))
    expect(vm.max).toBeCloseTo(Math.log10(1200))
    expect(o.xAxis).toMatchObject({ name: 'domain', data: ['press', 'fiction'] })
    expect(o.yAxis).toMatchObject({ name: 'stage', data: ['after press', 'after fiction'] })
    // the missing cell is not drawn
    expect(((o.series as HeatmapSeriesOption[])[0]!.data as unknown[]).length).toBe(3)
    const svg = svgOf(ppl())
    for (const text of ['12.3', '15.0', '1200.0', 'after fiction', 'fiction', 'perplexity (log)', 'domain', 'stage']) expect(svg).toContain(text)
  })

  it('colours differences on a diverging scale centred on 0 and writes them signed', () => {
    const d = ppl({
      scale: 'diverging',
      format: 'diff',
      values: [
        [-2.5, 0.25],
        [4, null]
      ]
    })
    expect(heatmapScale(d)).toEqual({ min: -4, max: 4 })
    const vm = heatmapOption(d, { interactive: false }).visualMap as { inRange: { color: string[] } }
    const colors = vm.inRange.color
    expect([colors[0], colors[Math.floor(colors.length / 2)], colors.at(-1)]).toEqual(['#2166ac', '#f7f7f7', '#b2182b'])
    const svg = svgOf(d)
    for (const text of ['-2.5', '+0.25', '+4.0', 'difference']) expect(svg).toContain(text)
  })

  it('hover shows the exact value and the 95% interval when given', () => {
    const o = heatmapOption(ppl(), { interactive: true })
    const fmt = (o.tooltip as { formatter: (p: unknown) => string }).formatter
    expect(fmt({ value: [0, 0, Math.log10(12.345), 12.345] })).toBe('after press · press: <b>12.345</b><br>95% interval [11.9, 12.8]')
    expect(fmt({ value: [1, 1, 3, 1200] })).toBe('after fiction · fiction: <b>1200</b>')
  })
})
