// The renderer's names for the shared plot helpers (src/shared/plot.ts), plus its series colours.
export {
  niceTicks,
  logTicks,
  viridis,
  logPosition,
  formatValue as fmtValue,
  formatSeconds as fmtSeconds,
  formatFlops as fmtFlops,
  formatParams as fmtParams
} from '../../../shared/plot'

export const SERIES_COLORS = ['#4fb3ff', '#ff6b6b', '#3ecf8e', '#f5b942', '#b18cff', '#ff9f6b', '#6be3ff', '#d4e157']
