// Index maps for width growth (elle-method.md §3.1): map[j] = source of new unit j, identity below the old size.
import type { Rng } from '../model/rng'

/** The reference's get_choices: every new unit draws its source uniformly, with replacement. */
export function choicesWithReplacement(oldSize: number, newSize: number, rng: Rng): Int32Array {
  const map = identityPrefix(oldSize, newSize)
  for (let j = oldSize; j < newSize; j++) map[j] = rng.int(oldSize)
  return map
}

/**
 * New units take their sources from successive random permutations of the old units, so duplicate
 * counts differ by at most one; an integer ratio gives every unit the same count (LayerNorm exact).
 */
export function balancedChoices(oldSize: number, newSize: number, rng: Rng): Int32Array {
  const map = identityPrefix(oldSize, newSize)
  let perm: number[] = []
  for (let j = oldSize; j < newSize; j++) {
    if (perm.length === 0) perm = shuffled(oldSize, rng)
    map[j] = perm.pop()!
  }
  return map
}

function identityPrefix(oldSize: number, newSize: number): Int32Array {
  if (newSize < oldSize) throw new Error(`cannot shrink from ${oldSize} to ${newSize}`)
  const map = new Int32Array(newSize)
  for (let j = 0; j < oldSize; j++) map[j] = j
  return map
}

/** 0..n-1 in random order (Fisher-Yates). */
export function shuffled(n: number, rng: Rng): number[] {
  const a = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const k = rng.int(i + 1)
    const t = a[i]!
    a[i] = a[k]!
    a[k] = t
  }
  return a
}

/** c(k) = number of new units copied from old unit k (the original counts as one). */
export function duplicateCounts(map: Int32Array, oldSize: number): Int32Array {
  const c = new Int32Array(oldSize)
  for (const k of map) c[k]!++
  return c
}

/** Per new unit j: the count of its source, c(map[j]) (the split-input divisor). */
export function divisors(map: Int32Array, oldSize: number): Float32Array {
  const c = duplicateCounts(map, oldSize)
  return Float32Array.from(map, (k) => c[k]!)
}

/** Head map -> unit map: whole heads are copied, g_att(a * hd + r) = g_a(a) * hd + r. */
export function headUnitMap(headMap: Int32Array, headSize: number): Int32Array {
  const out = new Int32Array(headMap.length * headSize)
  headMap.forEach((src, a) => {
    for (let r = 0; r < headSize; r++) out[a * headSize + r] = src * headSize + r
  })
  return out
}
