import * as fs from 'node:fs'
import * as path from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { loadTokenizedDomain, tokenizeDomain } from '../../../src/main/engine/data/cache'
import { SPLITS } from '../../../src/main/engine/data/split'
import { trainTokenizer, type Tokenizer } from '../../../src/main/engine/data/tokenizer'
import { syntheticText, tempDir } from './helpers'

const root = tempDir()
const corpusDir = path.join(root, 'corpus')
const cacheDir = path.join(root, 'cache')
let tok: Tokenizer

beforeAll(async () => {
  fs.mkdirSync(corpusDir)
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(corpusDir, `doc${String(i).padStart(2, '0')}.txt`), syntheticText(i, 100 + i * 5))
  tok = await trainTokenizer({ texts: Array.from({ length: 10 }, (_, i) => syntheticText(i)), vocabSize: 600 })
})

describe('token cache', () => {
  it('tokenizes each split once into uint16 arrays with document offsets and stats', async () => {
    const d = await tokenizeDomain({ name: 'synthetic', corpus: { paths: [corpusDir] } }, tok, cacheDir)
    expect(d.fromCache).toBe(false)
    expect(d.header.dtype).toBe('uint16')
    let docs = 0
    for (const s of SPLITS) {
      const sp = d.splits[s]
      expect(sp.tokens).toBeInstanceOf(Uint16Array)
      expect(sp.offsets.length).toBe(sp.docIds.length + 1)
      expect(sp.offsets[sp.offsets.length - 1]).toBe(sp.tokens.length)
      expect(sp.stats.tokens).toBe(sp.tokens.length)
      docs += sp.stats.documents
    }
    expect(docs).toBe(40)
    expect(d.splits.validation.stats.documents).toBeGreaterThanOrEqual(1)
    // Document boundaries survive: decoding one document's slice gives its file back.
    const tr = d.splits.train
    const id = tr.docIds[3] as string
    const ids = tr.tokens.subarray(tr.offsets[3] as number, tr.offsets[4] as number)
    expect(tok.decode(ids)).toBe(fs.readFileSync(path.join(corpusDir, id), 'utf8'))
    expect(tr.stats.bytes).toBe(tr.docIds.reduce((n, f) => n + fs.statSync(path.join(corpusDir, f)).size, 0))
  })

  it('a cache hit reads from disk without tokenizing or rewriting anything', async () => {
    const first = await tokenizeDomain({ name: 'synthetic', corpus: { paths: [corpusDir] } }, tok, cacheDir)
    const bin = path.join(first.dir, 'train.tokens.bin')
    const mtime = fs.statSync(bin).mtimeMs
    const encode = vi.spyOn(tok, 'encode')
    const again = await tokenizeDomain({ name: 'synthetic', corpus: { paths: [corpusDir] } }, tok, cacheDir)
    expect(again.fromCache).toBe(true)
    expect(encode).not.toHaveBeenCalled()
    expect(fs.statSync(bin).mtimeMs).toBe(mtime)
    expect(Array.from(again.splits.train.tokens)).toEqual(Array.from(first.splits.train.tokens))
    expect(again.dir).toBe(first.dir)
    encode.mockRestore()
  })

  it('a changed file, tokenizer or split seed gives a new cache entry', async () => {
    const base = await tokenizeDomain({ name: 'synthetic', corpus: { paths: [corpusDir] } }, tok, cacheDir)
    const seeded = await tokenizeDomain({ name: 'synthetic', corpus: { paths: [corpusDir] } }, tok, cacheDir, { split: { seed: 99 } })
    expect(seeded.fromCache).toBe(false)
    expect(seeded.dir).not.toBe(base.dir)
    const other = await trainTokenizer({ texts: [syntheticText(100)], vocabSize: 500 })
    expect((await tokenizeDomain({ name: 'synthetic', corpus: { paths: [corpusDir] } }, other, cacheDir)).dir).not.toBe(base.dir)
    fs.appendFileSync(path.join(corpusDir, 'doc00.txt'), ' changed')
    const changed = await tokenizeDomain({ name: 'synthetic', corpus: { paths: [corpusDir] } }, tok, cacheDir)
    expect(changed.fromCache).toBe(false)
    expect(changed.header.corpusHash).not.toBe(base.header.corpusHash)
    expect(loadTokenizedDomain(base.dir).header.corpusHash).toBe(base.header.corpusHash)
  })
})
