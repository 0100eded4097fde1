// The renderer's names for the shared number formats (src/shared/plot.ts); colours come from src/shared/charts/palette.ts.
export { formatValue as fmtValue, formatSeconds as fmtSeconds, formatFlops as fmtFlops, formatParams as fmtParams } from '../../../shared/plot'
