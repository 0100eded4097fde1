import * as fs from 'node:fs'
import * as path from 'node:path'
import { createRequire } from 'node:module'
import { beforeAll, describe, expect, it } from 'vitest'
import { DataError } from '../../../src/main/engine/data/errors'
import { ExperimentStore } from '../../../src/main/engine/store/store'
import { loadTokenizer, promptToken, saveTokenizer, SPECIAL_TOKENS, trainTokenizer, type Tokenizer } from '../../../src/main/engine/data/tokenizer'
import { brownPlainText, listBrownTexts, readBrownText } from '../../../src/main/engine/data/default-stream/brown'
import { readSpamAssassin } from '../../../src/main/engine/data/default-stream/spam'
import { tempDir } from './helpers'

const dir = tempDir()
let tok: Tokenizer
let press: string[]

beforeAll(async () => {
  press = listBrownTexts()
    .filter((id) => id.startsWith('ca'))
    .slice(0, 20)
    .map((id) => brownPlainText(readBrownText(id)))
  tok = await trainTokenizer({ texts: press, vocabSize: 2000 })
})

describe('tokenizer', () => {
  it('has the configured vocab size, fixed specials and 16 prompt slots', () => {
    expect(tok.vocabSize).toBe(2000)
    expect(tok.specialIds).toEqual({ pad: 0, unk: 1, cls: 2, sep: 3, mask: 4, bos: 5, eos: 6 })
    expect(tok.promptSlots).toBe(16)
    for (let s = 0; s < 16; s++) {
      expect(tok.promptId(s)).toBe(7 + s)
      expect(tok.idToToken(tok.promptId(s))).toBe(promptToken(s))
      expect(tok.isSpecial(tok.promptId(s))).toBe(true)
    }
    expect(() => tok.promptId(16)).toThrow(DataError)
  })

  it('round-trips text exactly, including unseen characters and special tokens', () => {
    const samples = [press[0] as string, 'Ünïcödé ✓ 日本語 😀 tabs\tand\nnewlines  double  spaces', 'A <mask> in <p3> text<eos>']
    for (const s of samples) expect(tok.decode(tok.encode(s))).toBe(s)
    const ids = tok.encode('A <mask> in <p3> text')
    expect(Array.from(ids)).toContain(tok.specialIds.mask)
    expect(Array.from(ids)).toContain(tok.promptId(3))
    expect(tok.decode(ids, { skipSpecial: true })).toBe('A  in  text')
  })

  it('pure-TS encode/decode agree with the native HF tokenizer on real Brown and e-mail text', async () => {
    const emails = readSpamAssassin(undefined, 200).docs.map((d) => d.text)
    const fiction = listBrownTexts()
      .filter((id) => id.startsWith('ck'))
      .slice(0, 5)
      .map((id) => brownPlainText(readBrownText(id)))
    const texts = [...press.slice(0, 5), ...fiction, ...emails, 'x\u0085y \uFEFFz \u00a0 q', "it's   we'll\n\n\n end  "]
    const native = await tok.encodeBatch(texts)
    texts.forEach((t, i) => expect(Array.from(tok.encode(t))).toEqual(Array.from(native[i] as Int32Array)))
    const ids = Array.from(tok.encode(texts[6] as string))
    expect(await tok.nativeTokenizer().decode(ids, false)).toBe(tok.decode(ids))
  })

  it('saves tokenizer.json that reloads with the same hash, ids and vocabulary', () => {
    const file = saveTokenizer(tok, dir)
    expect(path.basename(file)).toBe('tokenizer.json')
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { model: { type: string }; added_tokens: Array<{ content: string; id: number }> }
    expect(json.model.type).toBe('BPE')
    expect(json.added_tokens.slice(0, 7).map((t) => t.content)).toEqual(Object.values(SPECIAL_TOKENS))
    const again = loadTokenizer(dir)
    expect(again.hash).toBe(tok.hash)
    expect(again.vocabSize).toBe(tok.vocabSize)
    expect(Array.from(again.encode(press[1] as string))).toEqual(Array.from(tok.encode(press[1] as string)))
    // The real HF parser accepts the file (what Python `tokenizers` reads too).
    const hf = createRequire(import.meta.url)('tokenizers') as { Tokenizer: { fromFile(f: string): { getVocabSize(b: boolean): number } } }
    expect(hf.Tokenizer.fromFile(file).getVocabSize(true)).toBe(2000)
  })

  it('training is deterministic (same corpus, same hash)', async () => {
    const other = await trainTokenizer({ texts: press, vocabSize: 2000 })
    expect(other.hash).toBe(tok.hash)
  })

  it('a domain added later takes a reserved prompt slot: vocabulary and ids unchanged', () => {
    const before = { size: tok.vocabSize, hash: tok.hash, enc: Array.from(tok.encode(press[2] as string)) }
    // the slots come from the code that assigns them: the store picks the lowest free one in the insert
    const store = ExperimentStore.open(path.join(dir, 'slots.sqlite'))
    try {
      const add = (name: string) => store.createDomain({ name, files: [], promptSlot: { auto: { slots: tok.promptSlots } } }).promptSlot as number
      expect([add('press'), add('humanities')]).toEqual([0, 1])
      const later = add('email')
      expect(later).toBe(2)
      const ids = [0, 1, later].map((slot) => tok.promptId(slot))
      expect(new Set(ids).size).toBe(3) // each domain its own prompt token
      for (const [i, id] of ids.entries()) {
        expect(tok.isSpecial(id)).toBe(true)
        expect(tok.idToToken(id)).toBe(promptToken([0, 1, later][i]!))
      }
      // every slot taken: the next domain is refused, not given a slot the tokenizer does not have
      for (let n = 3; n < tok.promptSlots; n++) add(`d${n}`)
      expect(() => add('one-too-many')).toThrow(/prompt slot/)
    } finally {
      store.close()
    }
    expect(tok.vocabSize).toBe(before.size)
    expect(tok.hash).toBe(before.hash)
    expect(Array.from(tok.encode(press[2] as string))).toEqual(before.enc)
  })

  it('fills with <unused> tokens when a tiny corpus runs out of merges', async () => {
    const small = await trainTokenizer({ texts: ['tiny corpus tiny corpus'], vocabSize: 400, promptSlots: 4 })
    expect(small.vocabSize).toBe(400)
    expect(small.promptSlots).toBe(4)
    expect(small.tokenToId('<unused0>')).toBeGreaterThan(256)
    expect(small.decode(small.encode('tiny corpus, new words!'))).toBe('tiny corpus, new words!')
  })

  it('rejects bad options and bad files with DataError', async () => {
    await expect(trainTokenizer({ texts: ['a'], vocabSize: 10 })).rejects.toMatchObject({ code: 'BAD_OPTION' })
    await expect(trainTokenizer({ files: [path.join(dir, 'missing.txt')] })).rejects.toMatchObject({ code: 'NOT_FOUND' })
    const bad = path.join(dir, 'bad.json')
    fs.writeFileSync(bad, '{"model": 1}')
    expect(() => loadTokenizer(bad)).toThrow(/bad\.json/)
  })
})
