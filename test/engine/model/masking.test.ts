import { describe, expect, it } from 'vitest'
import { IGNORE_INDEX } from '../../../src/main/engine/model/config'
import { maskTokens } from '../../../src/main/engine/model/masking'
import { Rng } from '../../../src/main/engine/model/rng'

const V = 100
const MASK = 3
const PROTECTED = [0, 1, 2, 3, 4] // pad, cls, sep, mask, a domain prompt
const T = 64

function corpus(n: number, seed = 1): Int32Array {
  const r = new Rng(seed)
  const ids = new Int32Array(n * T).map(() => 5 + r.int(V - 5))
  for (let s = 0; s < n; s++) {
    ids[s * T] = 1 // cls
    ids[s * T + 1] = 4 // prompt
    ids[s * T + T - 1] = 2 // sep
    for (let j = T - 6; j < T - 1; j++) ids[s * T + j] = 0 // padding
  }
  return ids
}

describe('maskTokens', () => {
  const ids = corpus(400)
  const { inputIds, labels } = maskTokens(ids, { maskId: MASK, vocabSize: V, protectedIds: PROTECTED, seed: 5, seqLen: T })

  it('selects ~15% of maskable positions, 80/10/10 mask/random/kept', () => {
    let maskable = 0,
      selected = 0,
      masked = 0,
      kept = 0,
      random = 0
    for (let i = 0; i < ids.length; i++) {
      if (!PROTECTED.includes(ids[i]!)) maskable++
      if (labels[i] === IGNORE_INDEX) continue
      selected++
      if (inputIds[i] === MASK) masked++
      else if (inputIds[i] === ids[i]) kept++
      else random++
    }
    expect(selected / maskable).toBeGreaterThan(0.14)
    expect(selected / maskable).toBeLessThan(0.16)
    expect(masked / selected).toBeCloseTo(0.8, 1)
    expect(random / selected).toBeGreaterThan(0.08)
    expect(random / selected).toBeLessThan(0.12)
    // "kept" also holds random draws that hit the original token (1/95 of them)
    expect(kept / selected).toBeGreaterThan(0.08)
    expect(kept / selected).toBeLessThan(0.12)
  })

  it('never touches protected tokens and never draws them as replacements', () => {
    for (let i = 0; i < ids.length; i++) {
      if (PROTECTED.includes(ids[i]!)) {
        expect(labels[i]).toBe(IGNORE_INDEX)
        expect(inputIds[i]).toBe(ids[i])
      } else if (inputIds[i] !== MASK) {
        expect(PROTECTED.includes(inputIds[i]!)).toBe(false)
      }
    }
  })

  it('labels hold the original token exactly where a target is set; unselected inputs are unchanged', () => {
    for (let i = 0; i < ids.length; i++) {
      if (labels[i] !== IGNORE_INDEX) expect(labels[i]).toBe(ids[i])
      else expect(inputIds[i]).toBe(ids[i])
    }
  })

  it('is reproducible from the seed and differs across seeds', () => {
    const again = maskTokens(ids, { maskId: MASK, vocabSize: V, protectedIds: PROTECTED, seed: 5, seqLen: T })
    const other = maskTokens(ids, { maskId: MASK, vocabSize: V, protectedIds: PROTECTED, seed: 6, seqLen: T })
    expect(again.inputIds).toEqual(inputIds)
    expect(again.labels).toEqual(labels)
    expect(other.labels).not.toEqual(labels)
  })

  it('gives every short sequence at least one target', () => {
    const short = new Int32Array(200 * 4).map((_, i) => 5 + (i % 50))
    const r = maskTokens(short, { maskId: MASK, vocabSize: V, protectedIds: PROTECTED, seed: 1, seqLen: 4 })
    for (let s = 0; s < 200; s++) expect(r.labels.slice(s * 4, s * 4 + 4).some((l) => l !== IGNORE_INDEX)).toBe(true)
  })
})
