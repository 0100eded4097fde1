// Depth bookkeeping (elle-method.md §4.1): interleaved copies, each original layer copied once per round.
import { describe, expect, it } from 'vitest'
import { initialDepthBookkeeping, planDepth } from '../../../src/main/engine/growth'
import { Rng } from '../../../src/main/engine/model/rng'

describe('planDepth', () => {
  it('L6 +2,+2,+1,+1 copies every original layer exactly once, each copy above its source; a fifth stage starts a new round', () => {
    const rng = new Rng(1)
    let book = initialDepthBookkeeping(6)
    let layers = 6
    // origin[l] = the original (stage-0) layer that current layer l descends from.
    let origin = [0, 1, 2, 3, 4, 5]
    const copies = new Map<number, number>()
    for (const add of [2, 2, 1, 1]) {
      const plan = planDepth(layers, add, book, rng)
      expect(plan.sources).toHaveLength(layers + add)
      expect(plan.inserted.filter(Boolean)).toHaveLength(add)
      plan.sources.forEach((s, k) => {
        if (plan.inserted[k]) {
          // Directly above its source: the previous new layer is the source itself (or an earlier copy of it).
          expect(plan.sources[k - 1]).toBe(s)
          copies.set(origin[s]!, (copies.get(origin[s]!) ?? 0) + 1)
        }
      })
      // Sources are bottom-up and every old layer survives.
      expect([...new Set(plan.sources)]).toEqual(Array.from({ length: layers }, (_, i) => i))
      origin = plan.sources.map((s) => origin[s]!)
      book = plan.book
      layers += add
      if (layers < 12) {
        // Within a round: ids name the originals, candidates are the not-yet-copied ones.
        expect(book.layerIds).toEqual(origin)
        expect(book.candidates.every((c) => !copies.has(c))).toBe(true)
        expect(book.candidates).toHaveLength(6 - copies.size)
      }
    }
    expect([...copies.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5])
    expect([...copies.values()]).toEqual([1, 1, 1, 1, 1, 1])
    // The round ended: the bookkeeping resets to the 12 current layers.
    expect(book).toEqual(initialDepthBookkeeping(12))
    const fifth = planDepth(12, 3, book, rng)
    expect(fifth.sources).toHaveLength(15)
    expect(fifth.book.layerIds).toHaveLength(15)
    expect(fifth.book.candidates).toHaveLength(9)
  })

  it('more layers than candidates: the rest of the round, then a new round (the intended FPI_new.py logic)', () => {
    const rng = new Rng(4)
    const first = planDepth(4, 3, initialDepthBookkeeping(4), rng)
    expect(first.book.candidates).toHaveLength(1)
    const left = first.book.candidates[0]!
    const second = planDepth(7, 3, first.book, rng)
    expect(second.sources).toHaveLength(10)
    // The left-over candidate is copied in this call.
    const copiedIds = second.inserted.flatMap((ins, k) => (ins ? [first.book.layerIds[second.sources[k]!]!] : []))
    expect(copiedIds).toContain(left)
    expect(second.book.candidates).toHaveLength(2) // new round over 4 originals, 2 used
  })

  it('adds nothing for 0 and is deterministic for a seed; addLast takes the last candidates', () => {
    const none = planDepth(3, 0, initialDepthBookkeeping(3), new Rng(1))
    expect(none.sources).toEqual([0, 1, 2])
    expect(none.book).toEqual(initialDepthBookkeeping(3))
    expect(planDepth(6, 2, initialDepthBookkeeping(6), new Rng(9))).toEqual(planDepth(6, 2, initialDepthBookkeeping(6), new Rng(9)))
    expect(planDepth(6, 2, initialDepthBookkeeping(6), new Rng(9), true).sources).toEqual([0, 1, 2, 3, 4, 4, 5, 5])
  })
})
