export { compareRuns, computeSaved, configFacts, firstReach, streamDifference, CompareError, type ConfigFacts, type Reach } from './compare'
export { renderReport, downstreamTable, heatmapRows } from './report'
export { formatFlops, formatParams, formatPct, formatScore, formatSeconds, formatValue } from '../../../shared/plot'
