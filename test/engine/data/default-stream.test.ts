import * as fs from 'node:fs'
import * as path from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { BlockBatcher } from '../../../src/main/engine/data/batches'
import { loadTokenizedDomain } from '../../../src/main/engine/data/cache'
import { ensureDefaultStream, readStreamManifest, type StreamManifest } from '../../../src/main/engine/data/default-stream'
import { brownDir, brownPlainText, detokenize, genreOf, listBrownTexts, readBrownText, universalTag } from '../../../src/main/engine/data/default-stream/brown'
import { emailToText, readSpamAssassin, type EmailReadStats } from '../../../src/main/engine/data/default-stream/spam'
import { SPLITS } from '../../../src/main/engine/data/split'
import { readTaskSplit, type ClassificationExample, type TaggingExample } from '../../../src/main/engine/data/tasks'
import { loadTokenizer } from '../../../src/main/engine/data/tokenizer'
import { tempDir } from './helpers'

const dataDir = path.join(tempDir(), 'stream')
let manifest: StreamManifest

beforeAll(async () => {
  // Only the first Brown domain with a small vocabulary keeps this fast; the full stream is the script's job.
  manifest = await ensureDefaultStream(dataDir, { domains: ['press'], vocabSize: 1000 })
})

describe('Brown corpus reading', () => {
  it('maps file names to genres consistently with the package cats.txt', () => {
    const cats = new Map(
      fs
        .readFileSync(path.join(brownDir(), 'cats.txt'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/) as [string, string])
    )
    const ids = listBrownTexts()
    expect(ids.length).toBe(500)
    const byGenre: Record<string, string> = {
      a: 'news',
      b: 'editorial',
      c: 'reviews',
      d: 'religion',
      e: 'hobbies',
      f: 'lore',
      g: 'belles_lettres',
      h: 'government',
      j: 'learned',
      k: 'fiction',
      l: 'mystery',
      m: 'science_fiction',
      n: 'adventure',
      p: 'romance',
      r: 'humor'
    }
    for (const id of ids) expect(cats.get(id)).toBe(byGenre[genreOf(id)])
  })

  it('strips POS tags and detokenizes punctuation and quotes', () => {
    expect(detokenize(['``', 'Hello', ',', "''", 'he', 'said', '(', 'twice', ')', '.'])).toBe('"Hello," he said (twice).')
    const t = brownPlainText(readBrownText('ca01'))
    expect(t.startsWith('The Fulton County Grand Jury said Friday an investigation of')).toBe(true)
    expect(t).not.toMatch(/\/(at|nn|np-tl)\b/)
    expect(universalTag('np-tl')).toBe('NOUN')
    expect(universalTag('ppss+ber')).toBe('PRON')
    expect(universalTag('dod*')).toBe('VERB')
    expect(universalTag('fw-nn')).toBe('X')
    expect(universalTag("''")).toBe('.')
  })
})

describe('SpamAssassin reading', () => {
  it('keeps subject + body, decodes MIME, and counts what it skips', () => {
    const { docs, stats } = readSpamAssassin(undefined, 400)
    expect(stats.messages).toBe(400)
    expect(stats.kept + stats.skippedEmpty + stats.skippedDuplicate).toBe(400)
    expect(docs.every((d) => !/^(Received|Return-Path|Delivered-To):/m.test(d.text))).toBe(true)
    expect(new Set(docs.map((d) => d.label))).toEqual(new Set(['ham']))
    const spam = readSpamAssassin(undefined, 6046).docs.filter((d) => d.group.startsWith('spam'))
    expect(spam.every((d) => d.label === 'spam')).toBe(true)
  })

  it('parses multipart, quoted-printable, base64, HTML and non-UTF-8 bytes', () => {
    const raw = [
      'From someone Thu Aug 22 2002',
      'Subject: =?iso-8859-1?Q?Caf=E9_offer?= now',
      'Content-Type: multipart/alternative; boundary="XX"',
      '',
      'preamble',
      '--XX',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Hello caf=E9 soft=',
      'break',
      '--XX',
      'Content-Type: text/html',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>HTML only</p>').toString('base64'),
      '--XX--',
      ''
    ].join('\n')
    const stats: EmailReadStats = { messages: 0, kept: 0, skippedEmpty: 0, skippedDuplicate: 0, decodedAsWindows1252: 0, fromHtml: 0 }
    const { text, fromHtml } = emailToText(Buffer.from(raw, 'latin1'), stats)
    expect(text).toBe('Café offer now\n\nHello café softbreak')
    expect(fromHtml).toBe(false)
    expect(stats.decodedAsWindows1252).toBe(2)
    const html = emailToText(Buffer.from('Subject: hi\nContent-Type: text/html\n\n<html><style>x{}</style><b>Buy</b> now&amp;save</html>'), stats)
    expect(html).toEqual({ text: 'hi\n\nBuy now&save', fromHtml: true })
  })
})

describe('ensureDefaultStream (press only, vocab 1000)', () => {
  it('writes a manifest with tokenizer, per-split stats and tasks', () => {
    expect(manifest.domains.map((d) => d.name)).toEqual(['press'])
    const press = manifest.domains[0]!
    expect(press.promptSlot).toBe(0)
    expect(manifest.tokenizer.vocabSize).toBe(1000)
    expect(manifest.tokenizer.promptSlots).toBe(16)
    expect(press.stats.train.documents + press.stats.validation.documents + press.stats.test.documents).toBe(88)
    expect(press.stats.train.tokens).toBeGreaterThan(100_000)
    expect(press.tasks.map((t) => t.name)).toEqual(['genre', 'pos'])
    const genre = press.tasks[0]!
    expect(genre.labels).toEqual(['editorial', 'reportage', 'review'])
    for (const s of SPLITS) expect(Object.keys(genre.splits[s].labelCounts).sort()).toEqual(genre.labels)
    expect(readStreamManifest(dataDir)).toEqual(manifest)
  })

  it('is idempotent and fast when already prepared', async () => {
    const t0 = performance.now()
    const again = await ensureDefaultStream(dataDir, { domains: ['press'], vocabSize: 1000 })
    expect(performance.now() - t0).toBeLessThan(500)
    expect(again).toEqual(manifest)
  })

  it('no document leaks between pre-training validation/test and task training sets', () => {
    const press = manifest.domains[0]!
    const cache = loadTokenizedDomain(press.cacheDir)
    const heldOut = new Set([...cache.splits.validation.docIds, ...cache.splits.test.docIds])
    const trainDocs = new Set(cache.splits.train.docIds)
    for (const task of press.tasks) {
      const train = readTaskSplit<ClassificationExample | TaggingExample>(task.dir, 'train')
      expect(train.length).toBeGreaterThan(0)
      for (const ex of train) {
        expect(heldOut.has(ex.docId)).toBe(false)
        expect(trainDocs.has(ex.docId)).toBe(true)
      }
      for (const s of ['validation', 'test'] as const) {
        for (const ex of readTaskSplit<ClassificationExample | TaggingExample>(task.dir, s)) expect(cache.splits[s].docIds).toContain(ex.docId)
      }
    }
    const passages = readTaskSplit<ClassificationExample>(press.tasks[0]!.dir, 'train')
    const words = passages.map((p) => p.text.split(/\s+/).length)
    expect(Math.max(...words)).toBeLessThanOrEqual(192 * 1.5)
    expect(words.filter((w) => w >= 96).length / words.length).toBeGreaterThan(0.9)
    const pos = readTaskSplit<TaggingExample>(press.tasks[1]!.dir, 'validation')
    expect(pos[0]!.words.length).toBe(pos[0]!.tags.length)
  })

  it('a domain added later keeps the tokenizer, its vocab size, and the cached earlier domain', async () => {
    const tokBefore = loadTokenizer(manifest.tokenizer.file)
    const log = vi.fn()
    const grown = await ensureDefaultStream(dataDir, { domains: ['press', 'hobbies'], vocabSize: 1000, log })
    expect(log.mock.calls.flat().join(' ')).not.toMatch(/training tokenizer/)
    expect(grown.tokenizer.hash).toBe(tokBefore.hash)
    expect(grown.tokenizer.vocabSize).toBe(1000)
    expect(grown.domains.map((d) => [d.name, d.promptSlot])).toEqual([
      ['press', 0],
      ['hobbies', 2]
    ])
    expect(grown.domains[0]!.cacheDir).toBe(manifest.domains[0]!.cacheDir)
    expect(grown.domains[1]!.tasks[0]!.labels).toEqual(['hobbies', 'lore'])
    await expect(ensureDefaultStream(dataDir, { domains: ['press'], vocabSize: 2000 })).rejects.toMatchObject({ code: 'BAD_OPTION' })
  })

  it('batches from the prepared cache carry the domain prompt (GPT position 0, BERT position 1)', () => {
    const press = manifest.domains[0]!
    const tok = loadTokenizer(manifest.tokenizer.file)
    const split = loadTokenizedDomain(press.cacheDir).splits.validation
    const gpt = new BlockBatcher(split, tok, { style: 'gpt', seqLen: 64, promptSlot: press.promptSlot, seed: 1 }).sample(8)
    const bert = new BlockBatcher(split, tok, { style: 'bert', seqLen: 64, promptSlot: press.promptSlot, seed: 1 }).sample(8)
    for (let r = 0; r < 8; r++) {
      expect(gpt.input[r * 64]).toBe(tok.promptId(0))
      expect(bert.input[r * 64]).toBe(tok.specialIds.cls)
      expect(bert.input[r * 64 + 1]).toBe(tok.promptId(0))
    }
    expect(tok.decode(gpt.target!.subarray(0, 64)).length).toBeGreaterThan(100)
  })
})
