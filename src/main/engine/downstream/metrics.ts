// Scores of a fine-tuned classifier and the lifelong summaries built from them. Pure functions: the
// tests check them against hand computations.

/** counts[gold][predicted] over `labels` classes. */
export function confusionMatrix(gold: ArrayLike<number>, predicted: ArrayLike<number>, labels: number): number[][] {
  if (gold.length !== predicted.length) throw new Error(`confusionMatrix: ${gold.length} gold labels but ${predicted.length} predictions`)
  const m = Array.from({ length: labels }, () => new Array<number>(labels).fill(0))
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i]!
    const p = predicted[i]!
    if (!(g >= 0 && g < labels && p >= 0 && p < labels)) throw new Error(`confusionMatrix: label out of range at ${i} (gold ${g}, predicted ${p})`)
    m[g]![p]!++
  }
  return m
}

export function accuracyOf(confusion: readonly (readonly number[])[]): number {
  let right = 0
  let all = 0
  confusion.forEach((row, g) => row.forEach((n, p) => ((all += n), g === p && (right += n))))
  return all > 0 ? right / all : NaN
}

/**
 * Macro-F1: the unweighted mean of per-class F1 = 2PR/(P+R), over the classes that occur in the gold
 * labels or the predictions (a class absent from both has no defined F1 and is left out, as scikit-learn
 * does). A class that is never predicted has precision 0, so its F1 is 0.
 */
export function macroF1Of(confusion: readonly (readonly number[])[]): number {
  const n = confusion.length
  let sum = 0
  let classes = 0
  for (let c = 0; c < n; c++) {
    const tp = confusion[c]![c]!
    let gold = 0
    let predicted = 0
    for (let k = 0; k < n; k++) {
      gold += confusion[c]![k]!
      predicted += confusion[k]![c]!
    }
    if (gold === 0 && predicted === 0) continue
    classes++
    // F1 = 2TP / (2TP + FP + FN) = 2TP / (gold + predicted); 0 when TP = 0.
    sum += (2 * tp) / (gold + predicted)
  }
  return classes > 0 ? sum / classes : NaN
}

export interface MeanStd {
  mean: number
  /** Sample standard deviation (n - 1); 0 for a single value. */
  std: number
  n: number
}

export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length
  if (n === 0) return { mean: NaN, std: NaN, n }
  const mean = values.reduce((a, b) => a + b, 0) / n
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0
  return { mean, std: Math.sqrt(variance), n }
}

export interface Transfer {
  /** mean over j < T of R[T][j] - R[j][j], T the last row with scores; null without two stages. */
  bwt: number | null
  /** mean over j >= 1 of R[j-1][j] - baseline[j] (Lopez-Paz & Ranzato 2017); null without such a pair. */
  fwt: number | null
  /** Which row BWT was taken at. */
  lastStage: number | null
}

/**
 * Backward and forward transfer of a score matrix R[i][j] (task j after stage i; null = not computed).
 * BWT uses the last stage that has a diagonal score; pairs with a missing entry are skipped.
 */
export function transferOf(R: readonly (readonly (number | null)[])[], baseline: readonly (number | null)[]): Transfer {
  let last: number | null = null
  for (let i = R.length - 1; i >= 0 && last === null; i--) if (R[i]?.[i] != null) last = i
  let bwt: number | null = null
  if (last !== null && last > 0) {
    const diffs: number[] = []
    for (let j = 0; j < last; j++) {
      const after = R[last]![j]
      const own = R[j]?.[j]
      if (after != null && own != null) diffs.push(after - own)
    }
    bwt = diffs.length > 0 ? diffs.reduce((a, b) => a + b, 0) / diffs.length : null
  }
  const fw: number[] = []
  for (let j = 1; j < R.length; j++) {
    const before = R[j - 1]?.[j]
    const base = baseline[j]
    if (before != null && base != null) fw.push(before - base)
  }
  const fwt = fw.length > 0 ? fw.reduce((a, b) => a + b, 0) / fw.length : null
  return { bwt, fwt, lastStage: last }
}
