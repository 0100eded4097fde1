/**
 * Deterministic document-level train/validation/test split. A document's split depends only on
 * (seed, document id), not on corpus order or Math.random, so re-reading a corpus gives the same split.
 */
import { DataError } from './errors'
import { unitHash } from './rng'

export type SplitName = 'train' | 'validation' | 'test'
export const SPLITS: readonly SplitName[] = ['train', 'validation', 'test']

export interface SplitOptions {
  /** Fractions for train/validation/test; normalised. Default [0.9, 0.05, 0.05]. */
  ratios?: readonly [number, number, number]
  seed?: number
}

export const DEFAULT_SPLIT_RATIOS: readonly [number, number, number] = [0.9, 0.05, 0.05]
export const DEFAULT_SPLIT_SEED = 1234

export interface SplitAssignment {
  train: string[]
  validation: string[]
  test: string[]
}

/**
 * Assign document ids to splits. With `groupOf`, the split is stratified: each group (e.g. a label)
 * is split on its own, so small classes appear in validation and test too.
 * Guarantee: a group of >= 3 documents puts at least one in validation and one in test.
 */
export function splitDocuments<T extends { id: string }>(docs: readonly T[], opts: SplitOptions = {}, groupOf?: (doc: T) => string): SplitAssignment {
  const ratios = opts.ratios ?? DEFAULT_SPLIT_RATIOS
  const seed = opts.seed ?? DEFAULT_SPLIT_SEED
  if (ratios.length !== 3 || ratios.some((r) => !(r >= 0)) || ratios[0] <= 0) {
    throw new DataError('BAD_OPTION', `split ratios must be 3 non-negative numbers with train > 0, got ${JSON.stringify(ratios)}`)
  }
  const total = ratios[0] + ratios[1] + ratios[2]
  const tTrain = ratios[0] / total
  const tVal = tTrain + ratios[1] / total

  const groups = new Map<string, T[]>()
  for (const d of docs) {
    const g = groupOf ? groupOf(d) : ''
    const list = groups.get(g)
    if (list) list.push(d)
    else groups.set(g, [d])
  }
  const out: SplitAssignment = { train: [], validation: [], test: [] }
  for (const group of groups.values()) {
    // Sorting by the hash makes both the thresholds and the small-corpus fix-ups order independent.
    const scored = group.map((d) => ({ id: d.id, u: unitHash(d.id, seed) })).sort((a, b) => a.u - b.u || (a.id < b.id ? -1 : 1))
    const n = scored.length
    let nTrain = scored.filter((s) => s.u < tTrain).length
    let nVal = scored.filter((s) => s.u >= tTrain && s.u < tVal).length
    let nTest = n - nTrain - nVal
    if (n >= 3) {
      // Take from the largest split (train first) so validation and test are never empty.
      if (ratios[2] > 0 && nTest === 0) {
        if (nTrain > 1) nTrain--
        else nVal--
        nTest++
      }
      if (ratios[1] > 0 && nVal === 0) {
        if (nTrain > 1) nTrain--
        else nTest--
        nVal++
      }
    }
    scored.forEach((s, i) => {
      const split: SplitName = i < nTrain ? 'train' : i < nTrain + nVal ? 'validation' : 'test'
      out[split].push(s.id)
    })
  }
  for (const s of SPLITS) out[s].sort()
  return out
}
