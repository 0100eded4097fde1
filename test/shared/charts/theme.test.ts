// The charts in the app's theme: dark app colours recolour the chrome (background, text, axes, grid, marker
// ink, tooltip) and leave every run colour, the points and the heat map cells' own ink as they are.
import { describe, expect, it } from 'vitest'
import type { LineSeriesOption } from 'echarts'
import { curveOption, seriesMeta } from '../../../src/shared/charts/curves'
import { heatmapOption } from '../../../src/shared/charts/heatmap'
import { runColor } from '../../../src/shared/charts/palette'
import { chartTheme, luminance, themedOption, type AppColors } from '../../../src/shared/charts/theme'
import type { CurveChartInput } from '../../../src/shared/charts/types'

// the app's variables (src/renderer/src/styles.css)
const DARK: AppColors = { bg: '#0f1419', panel: '#161d24', panel2: '#1c252e', text: '#dde6ee', muted: '#8a9aa8', line: '#283440' }
const LIGHT: AppColors = { bg: '#f6f7f9', panel: '#ffffff', panel2: '#eef2f6', text: '#1d2733', muted: '#5d6b7a', line: '#dde2e8' }

const input: CurveChartInput = {
  xAxis: 'step',
  xLabel: 'step',
  yLabel: 'loss',
  logY: false,
  lines: [1, 2].map((id) => ({ key: `run:${id}`, label: `#${id}`, color: runColor(id), role: 'run' as const, x: [0, 10, 20], y: [3, 2, 1], points: 3 })),
  markers: [
    { x: 10, kind: 'domain', label: 'fiction' },
    { x: 15, kind: 'growth', label: 'grew' }
  ]
}

/** every string under a colour key, anywhere in the option */
function colours(o: unknown, out: string[] = [], key = ''): string[] {
  if (typeof o === 'string' && /color/i.test(key)) out.push(o.toLowerCase())
  else if (Array.isArray(o)) o.forEach((v) => colours(v, out, key))
  else if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) colours(v, out, k)
  return out
}

describe('chart theme', () => {
  it('is dark when the app background is', () => {
    expect(luminance('#ffffff')).toBeCloseTo(1)
    expect(luminance('rgb(0, 0, 0)')).toBe(0)
    expect(luminance('nonsense')).toBeNull()
    expect(chartTheme(DARK).dark).toBe(true)
    expect(chartTheme(LIGHT).dark).toBe(false)
  })

  it('recolours the chrome with the app variables and keeps the run colours and the points', () => {
    const light = curveOption(input, { interactive: true })
    const dark = themedOption(light, chartTheme(DARK)) as typeof light
    expect(dark.backgroundColor).toBe(DARK.panel)
    const axis = dark.xAxis as { axisLabel: { color: string }; nameTextStyle: { color: string }; splitLine: { lineStyle: { color: string } } }
    expect([axis.axisLabel.color, axis.nameTextStyle.color, axis.splitLine.lineStyle.color]).toEqual([DARK.muted, DARK.text, DARK.line])
    expect((dark.legend as { textStyle: { color: string } }).textStyle.color).toBe(DARK.text)
    expect(dark.tooltip).toMatchObject({ backgroundColor: DARK.panel2, textStyle: { color: DARK.text } })
    // markers: the domain line and the growth ink in the theme
    const ml = (dark.series as LineSeriesOption[]).find((s) => s.markLine)!.markLine!.data as Array<{ lineStyle: { color: string }; label: { color: string } }>
    expect(ml.map((m) => [m.lineStyle.color, m.label.color])).toEqual([
      [DARK.muted, DARK.muted],
      [DARK.text, DARK.text]
    ])
    // no light ink left; the run colours exactly as before
    const left = colours(dark)
    for (const ink of ['#ffffff', '#1d2733', '#394653', '#5d6b7a', '#6b7682', '#edf0f3', '#9aa3ad']) expect(left).not.toContain(ink)
    const runs = [runColor(1), runColor(2)].map((c) => c.toLowerCase())
    expect(colours(light).filter((c) => runs.includes(c))).toEqual(left.filter((c) => runs.includes(c)))
    expect(left.filter((c) => runs.includes(c)).length).toBeGreaterThan(0)
    // the points are the same arrays, and the series' meta rides along
    expect((dark.series as LineSeriesOption[])[0]!.data).toBe((light.series as LineSeriesOption[])[0]!.data)
    expect(seriesMeta(dark)).toEqual(seriesMeta(light))
    // a light app keeps the option as built (the report's and exports' look)
    expect(themedOption(light, chartTheme(LIGHT))).toBe(light)
  })

  it('keeps the heat map cells’ text ink (contrast with the cell colour)', () => {
    const light = heatmapOption(
      {
        rows: ['a', 'b'],
        cols: ['x', 'y'],
        values: [
          [10, 1000],
          [100, null]
        ],
        scale: 'log',
        format: 'ppl'
      },
      { interactive: true }
    )
    const dark = themedOption(light, chartTheme(DARK))
    expect(dark.backgroundColor).toBe(DARK.panel)
    const cells = (s: typeof light) => (s.series as Array<{ data: unknown }>)[0]!.data
    expect(cells(dark)).toBe(cells(light))
  })
})
