/**
 * ECharts, only what the dashboard draws (tree-shaken from 'echarts/core'): line and bar charts
 * for trends and comparisons, a map series for the choropleth, and their components.
 */
import { BarChart, LineChart, MapChart } from 'echarts/charts'
import {
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components'
import * as echarts from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([LineChart, BarChart, MapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer])

export { echarts }
export type ECharts = ReturnType<typeof echarts.init>
