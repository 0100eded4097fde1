import { describe, expect, it } from 'vitest'
import { BlockBatcher } from '../../../src/main/engine/data/batches'
import type { TokenizedSplit } from '../../../src/main/engine/data/cache'
import type { SpecialIds } from '../../../src/main/engine/data/tokenizer'

// A fake tokenizer id source and a split whose tokens are easy to read: doc d has tokens 100*(d+1)+i.
const specialIds: SpecialIds = { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4, bos: 5, eos: 6 }
const ids = { specialIds, promptId: (slot: number): number => 7 + slot }
function split(docLens: number[]): TokenizedSplit {
  const toks: number[] = []
  const offsets = [0]
  docLens.forEach((n, d) => {
    for (let i = 0; i < n; i++) toks.push(100 * (d + 1) + i)
    offsets.push(toks.length)
  })
  return {
    domain: 'toy',
    split: 'train',
    tokens: Uint16Array.from(toks),
    offsets: Uint32Array.from(offsets),
    docIds: docLens.map((_, d) => `d${d}`),
    stats: { documents: docLens.length, tokens: toks.length, bytes: 0 }
  }
}
const rows = (a: Int32Array, S: number): number[][] => Array.from({ length: a.length / S }, (_, r) => Array.from(a.subarray(r * S, r * S + S)))

describe('BlockBatcher', () => {
  const sp = split([10, 7, 30])
  // stream = d0 (10) eos d1 (7) eos d2 (30) eos  -> 50 tokens

  it('GPT: prompt at position 0, targets are the next tokens', () => {
    const b = new BlockBatcher(sp, ids, { style: 'gpt', seqLen: 8, promptSlot: 2 })
    expect(b.numBlocks).toBe(6)
    const batch = b.batchOf([0, 1])
    const [in0, in1] = rows(batch.input, 8)
    const [t0, t1] = rows(batch.target as Int32Array, 8)
    expect(in0).toEqual([9, 100, 101, 102, 103, 104, 105, 106])
    expect(t0).toEqual([100, 101, 102, 103, 104, 105, 106, 107])
    expect(in1?.[0]).toBe(9)
    expect(t1).toEqual([108, 109, 6, 200, 201, 202, 203, 204])
    expect(in1?.slice(1)).toEqual(t1?.slice(0, 7))
    expect(Array.from(batch.attentionMask).every((m) => m === 1)).toBe(true)
  })

  it('GPT without prompt and with another domain\'s prompt ("wrong prompt")', () => {
    const off = new BlockBatcher(sp, ids, { style: 'gpt', seqLen: 8, promptSlot: 2, prompt: 'off' })
    const b = off.batchOf([0])
    expect(rows(b.input, 8)[0]).toEqual([100, 101, 102, 103, 104, 105, 106, 107])
    expect(rows(b.target as Int32Array, 8)[0]).toEqual([101, 102, 103, 104, 105, 106, 107, 108])
    const wrong = new BlockBatcher(sp, ids, { style: 'gpt', seqLen: 8, promptSlot: 2, prompt: { slot: 5 } })
    const w = wrong.batchOf([0, 3])
    expect(w.input[0]).toBe(12)
    expect(w.input[8]).toBe(12)
  })

  it('BERT: [CLS, prompt, x..., SEP] with padding at the end of the stream', () => {
    const b = new BlockBatcher(sp, ids, { style: 'bert', seqLen: 8, promptSlot: 1 })
    expect(b.contentLength).toBe(5)
    expect(b.numBlocks).toBe(10)
    const batch = b.batchOf([0, 9])
    const [r0, r9] = rows(batch.input, 8)
    expect(r0).toEqual([2, 8, 100, 101, 102, 103, 104, 3])
    expect(r9).toEqual([2, 8, 326, 327, 328, 329, 6, 3])
    expect(batch.target).toBeNull()
    const noPrompt = new BlockBatcher(split([3]), ids, { style: 'bert', seqLen: 8 })
    const p = noPrompt.batchOf([0])
    expect(Array.from(p.input)).toEqual([2, 100, 101, 102, 6, 3, 0, 0])
    expect(Array.from(p.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0])
    // every BERT row has the prompt at position 1
    const all = b.batchOf(Array.from({ length: b.numBlocks }, (_, i) => i))
    for (const r of rows(all.input, 8)) expect(r[1]).toBe(8)
  })

  it('seeded sampling is reproducible', () => {
    const a = new BlockBatcher(sp, ids, { style: 'bert', seqLen: 8, seed: 42 })
    const b = new BlockBatcher(sp, ids, { style: 'bert', seqLen: 8, seed: 42 })
    const c = new BlockBatcher(sp, ids, { style: 'bert', seqLen: 8, seed: 43 })
    const sa = [a.sample(4), a.sample(4)].map((x) => x.blocks)
    expect([b.sample(4), b.sample(4)].map((x) => x.blocks)).toEqual(sa)
    expect([c.sample(4), c.sample(4)].map((x) => x.blocks)).not.toEqual(sa)
    expect(Array.from(a.batchOf(sa[0] as number[]).input)).toEqual(Array.from(b.batchOf(sa[0] as number[]).input))
  })

  it('epoch iterator visits every block once per epoch, reshuffles, and can resume', () => {
    const big = new BlockBatcher(split([400]), ids, { style: 'gpt', seqLen: 8, seed: 1 })
    expect(big.numBlocks).toBe(50)
    const it1 = big.iterator(10)
    const epoch0 = Array.from({ length: 5 }, () => it1.next().value.blocks).flat()
    expect([...epoch0].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    const epoch1 = Array.from({ length: 5 }, () => it1.next().value.blocks).flat()
    expect(epoch1).not.toEqual(epoch0)
    expect(new Set(epoch1).size).toBe(50)
    expect(it1.position).toEqual({ epoch: 1, position: 50 })
    // uneven batch sizes straddle the epoch boundary and stay full
    const it3 = big.iterator(7)
    for (let i = 0; i < 8; i++) expect(it3.next().value.batchSize).toBe(7)
    const resumed = big.iterator(7, it3.position)
    expect(resumed.next().value.blocks).toEqual(it3.next().value.blocks)
  })

  it('validation batches are the first N blocks in order, the same every time', () => {
    const b = new BlockBatcher(sp, ids, { style: 'gpt', seqLen: 8, promptSlot: 0, seed: 5 })
    const v1 = b.validationBatches(4, 6)
    expect(v1.map((x) => x.blocks)).toEqual([
      [0, 1, 2, 3],
      [4, 5]
    ])
    const v2 = new BlockBatcher(sp, ids, { style: 'gpt', seqLen: 8, promptSlot: 0, seed: 77 }).validationBatches(4, 6)
    expect(v2.map((x) => Array.from(x.input))).toEqual(v1.map((x) => Array.from(x.input)))
  })

  it('rejects splits too small for one block and prompt "own" without a slot', () => {
    expect(() => new BlockBatcher(split([3]), ids, { style: 'gpt', seqLen: 8 })).toThrow(/too few/)
    expect(() => new BlockBatcher(sp, ids, { style: 'gpt', seqLen: 8, prompt: 'own' })).toThrow(/promptSlot/)
  })
})
