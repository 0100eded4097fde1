// ECharts with the parts the workbench draws with, registered once (EChart.vue makes the charts; warm.ts runs
// ECharts' code once while a view waits for its first answer).
import * as echarts from 'echarts/core'
import { HeatmapChart, LineChart } from 'echarts/charts'
import { DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, TitleComponent, TooltipComponent, VisualMapComponent } from 'echarts/components'
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers'

echarts.use([
  LineChart,
  HeatmapChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  DataZoomComponent,
  MarkLineComponent,
  VisualMapComponent,
  TitleComponent,
  CanvasRenderer,
  SVGRenderer
])

export { echarts }
