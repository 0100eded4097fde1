// A page's first chart pays for ECharts' code running for the first time: its 100-run curves took ~0.45 s more
// than the same option drawn again (docs/benchmarks.md). warmChartsOnce draws a tiny chart of the same kind (legend,
// zoom slider, markers, envelope), off screen, while the view waits for its first answer, and throws it away.
import { curveOption } from '../../../../shared/charts/curves'
import type { CurveChartInput } from '../../../../shared/charts/types'
import { echarts } from './echarts'

let warmed = false

export function warmChartsOnce(): void {
  if (warmed) return
  warmed = true
  const x = [0, 10, 20, 30]
  const input: CurveChartInput = {
    xAxis: 'step',
    xLabel: 'step',
    yLabel: 'loss',
    logY: false,
    lines: [0, 1].map((i) => ({
      key: `warm:${i}`,
      label: `warm ${i}`,
      color: '#1f77b4',
      role: 'run' as const,
      x,
      y: [4, 3, 2, 1],
      min: [3, 2, 1, 0],
      max: [5, 4, 3, 2],
      points: 400
    })),
    markers: [
      { x: 10, kind: 'domain', label: 'domain' },
      { x: 20, kind: 'growth', label: 'grew', detail: 'shape', key: 'warm:0' }
    ]
  }
  const el = document.createElement('div')
  let chart: ReturnType<typeof echarts.init> | null = null
  try {
    chart = echarts.init(el, null, { renderer: 'canvas', width: 400, height: 240 })
    chart.setOption(curveOption(input, { interactive: true }))
  } catch {
    // a warm-up only: the real chart reports its own errors
  } finally {
    chart?.dispose()
  }
}
