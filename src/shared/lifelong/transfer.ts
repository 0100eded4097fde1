// Backward and forward transfer and forgetting of a downstream score matrix, as Lopez-Paz & Ranzato (2017)
// define them (docs/compare.md). R[i][j]: task j's score after training stage i (higher is better); b[j]: the
// score of the untrained (step-0) model. The engine's forgetting job stores BWT/FWT computed the same way.

export interface TransferSummary {
  /** BWT = 1/(T−1) Σ_{j<T} (R[T][j] − R[j][j]), T the last stage with its own score; null without two stages */
  bwt: number | null
  /** FWT = 1/(T−1) Σ_{j≥1} (R[j−1][j] − b[j]); null without such a pair */
  fwt: number | null
  /** per task j < T: max_{j≤l<T} R[l][j] − R[T][j] (how much of its best score was lost by the end); null: not scored */
  forgetting: Array<number | null>
  /** the mean of those (Chaudhry et al. 2018's average forgetting) */
  meanForgetting: number | null
  /** the stage T the final row was taken at */
  lastStage: number | null
}

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length)
const isNum = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v)

export function bwtFwt(R: ReadonlyArray<ReadonlyArray<number | null>>, baseline: ReadonlyArray<number | null>): TransferSummary {
  let last: number | null = null
  for (let i = R.length - 1; i >= 0 && last === null; i--) if (isNum(R[i]?.[i])) last = i
  const back: number[] = []
  const forgetting: Array<number | null> = []
  if (last !== null) {
    for (let j = 0; j < last; j++) {
      const after = R[last]![j]
      const own = R[j]?.[j]
      if (isNum(after) && isNum(own)) back.push(after - own)
      const earlier = R.slice(j, last)
        .map((row) => row[j])
        .filter(isNum)
      forgetting.push(isNum(after) && earlier.length > 0 ? Math.max(...earlier) - after : null)
    }
  }
  const fw: number[] = []
  for (let j = 1; j < R.length; j++) {
    const before = R[j - 1]?.[j]
    const base = baseline[j]
    if (isNum(before) && isNum(base)) fw.push(before - base)
  }
  return {
    bwt: last !== null && last > 0 ? mean(back) : null,
    fwt: mean(fw),
    forgetting,
    meanForgetting: mean(forgetting.filter(isNum)),
    lastStage: last
  }
}

/** A run's stored forgetting matrix with its summary derived here (what the stage panel and the report show); null: none stored. */
export function runTransfer<T extends { R: ReadonlyArray<ReadonlyArray<number | null>>; baseline: ReadonlyArray<number | null> }>(
  transfer: T | null | undefined
): { stored: T; summary: TransferSummary } | null {
  return transfer ? { stored: transfer, summary: bwtFwt(transfer.R, transfer.baseline) } : null
}
