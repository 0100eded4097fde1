// splitScored (training/evaluate.ts): how a validation set is split between data-parallel threads. Every
// scored position lands in exactly one part with its target and document, re-indexed into its rows; parts
// are consecutive batches when there are enough, else rows of each batch; no part is empty.
import { describe, expect, it } from 'vitest'
import { splitScored, type LossInput } from '../../../src/main/engine/training/evaluate'

/** A scored input of `rows` rows of length S, every other position scored, documents by row. */
function input(rows: number, S: number, first: number): LossInput {
  const n = rows * S
  const inputIds = Int32Array.from({ length: n }, (_, i) => first + i)
  const labels = Int32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? first + i + 1 : -100))
  const at = [...Array(n).keys()].filter((i) => i % 2 === 0)
  const docs = Int32Array.from(at, (i) => Math.floor(i / S) % 3)
  const tokensPerDoc = new Float64Array(3)
  for (const d of docs) tokensPerDoc[d]! += 1
  return { shape: [rows, S], inputIds, labels, scored: { rows: Int32Array.from(at), targets: Int32Array.from(at, (i) => labels[i]!), docs, documents: 3, tokensPerDoc } }
}

/** (input id at the scored position, target, document) of every scored position of some inputs. */
const scoredOf = (inputs: LossInput[]) => inputs.flatMap((x) => [...x.scored!.rows].map((r, j) => [x.inputIds[r]!, x.scored!.targets[j]!, x.scored!.docs[j]!]))

describe('splitScored', () => {
  it('splits one large batch by rows, re-indexing its scored positions', () => {
    const set = [input(5, 4, 0)]
    const parts = splitScored(set, 2)
    expect(parts.map((p) => p.map((x) => x.shape[0]))).toEqual([[3], [2]])
    expect(parts.flatMap((p) => scoredOf(p))).toEqual(scoredOf(set))
    for (const p of parts) for (const x of p) for (const r of x.scored!.rows) expect(r).toBeLessThan(x.shape[0] * x.shape[1])
    const tokens = parts.flatMap((p) => p.map((x) => x.scored!.tokensPerDoc.reduce((a, b) => a + b, 0)))
    expect(tokens.reduce((a, b) => a + b, 0)).toBe(set[0]!.scored!.rows.length)
  })

  it('splits several batches into consecutive groups, and drops a part no rows are left for', () => {
    const set = [input(2, 4, 0), input(2, 4, 100), input(1, 4, 200)]
    expect(splitScored(set, 2).map((p) => p.length)).toEqual([2, 1])
    const small = [input(2, 4, 0), input(2, 4, 100)]
    const parts = splitScored(small, 3)
    expect(parts.length).toBe(2)
    expect(parts.flatMap((p) => scoredOf(p)).sort()).toEqual(scoredOf(small).sort())
  })
})
