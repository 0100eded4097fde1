// Charts as SVG strings for the standalone HTML report and docs/img: the views' own option builders
// (src/shared/charts) rendered by ECharts' server-side SVG renderer, so a report draws what the Compare view
// draws. The output is static: no scripts, no hover styles, every text escaped by the renderer.
import * as echarts from 'echarts'
import { curveOption } from '../../../shared/charts/curves'
import { escapeHtml } from '../../../shared/charts/format'
import { heatmapOption, heatmapSize } from '../../../shared/charts/heatmap'
import type { CurveChartInput, HeatmapInput } from '../../../shared/charts/types'

export { escapeHtml }

interface Rendered {
  /** for embedding in HTML: no XML namespace declarations (they are URLs, and HTML does not need them) */
  inline: string
  /** an .svg file of its own */
  file: string
}

function render(option: echarts.EChartsOption, width: number, height: number, label: string, cls: string): Rendered {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height })
  let svg: string
  try {
    chart.setOption(option)
    svg = chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
  // the renderer's <style> holds only :hover rules, which a static picture has no use for
  svg = svg.replace(/<style\b[\s\S]*?<\/style>/g, '').replace('<svg ', `<svg role="img" aria-label="${escapeHtml(label)}" class="${cls}" `)
  return { file: `${svg.trim()}\n`, inline: svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '').trim() }
}

/** Curves as SVG: the static option (whole legend above the plot, no animation), tall enough for its legend. */
export function curveSvg(input: CurveChartInput, size: { width?: number; height?: number } = {}): Rendered {
  const width = size.width ?? 720
  const option = curveOption(input, { interactive: false, width })
  const top = Number((option.grid as { top?: number }).top ?? 60)
  const height = size.height ?? top + 300
  return render(option, width, height, input.title ?? `${input.yLabel} against ${input.xLabel}`, 'chart')
}

/** A matrix as SVG, sized to its rows and columns. */
export function heatmapSvg(input: HeatmapInput): Rendered {
  const { width, height } = heatmapSize(input)
  return render(heatmapOption(input, { interactive: false }), width, height, input.title ?? 'perplexity matrix', 'heatmap')
}
