export {
  compareRuns,
  compareRunsInSlices,
  computeSaved,
  configFacts,
  firstReach,
  methodDifferences,
  streamDifference,
  CompareError,
  HEADLINE_WHY,
  type ConfigFacts,
  type Reach
} from './compare'
export { renderReport, downstreamTable, heatmapRows } from './report'
export { formatFlops, formatParams, formatPct, formatScore, formatSeconds, formatValue } from '../../../shared/plot'
export { countSeries, exportCsv } from './export'
