// Inputs for fine-tuning, on the shared default stream's real tokenizer and tasks: prompt placement per
// model kind, POS labels on first sub-tokens, prefix encoding, batching.
import path from 'node:path'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { readStreamManifest, type StreamManifest, type Tokenizer, loadTokenizer, type TaggingExample, type ClassificationExample } from '../../../src/main/engine/data'
import { detokenize } from '../../../src/main/engine/data/default-stream/brown'
import {
  contentBudget,
  DEFAULT_TASK_NAMES,
  encodeClassification,
  encodePrefix,
  encodeTagging,
  findTask,
  layOut,
  listTasks,
  makeBatch,
  wordPieces,
  type Layout
} from '../../../src/main/engine/downstream'
import { readTaskExamples } from '../../../src/main/engine/downstream/tasks'
import { IGNORE_INDEX } from '../../../src/main/engine/model'
import { defaultStreamDir } from '../../../src/main/engine/training/data'

let manifest: StreamManifest
let tok: Tokenizer

beforeAll(() => {
  manifest = readStreamManifest(defaultStreamDir(inject('dataDir')))!
  tok = loadTokenizer(manifest.tokenizer.file)
})

const TAGS = ['NOUN', 'VERB', 'ADJ', 'ADV', 'PRON', 'DET', 'ADP', 'NUM', 'CONJ', 'PRT', '.', 'X']

describe('tasks', () => {
  it('names every prepared task <domain>-<task>, as the help text lists them', () => {
    expect(listTasks(manifest).map((t) => t.name)).toEqual(DEFAULT_TASK_NAMES)
    expect(findTask(manifest, 'press-pos')).toMatchObject({ domain: 'press', kind: 'tagging', promptSlot: 0 })
    expect(findTask(manifest, 'email-spam')).toMatchObject({ domain: 'email', kind: 'classification', labels: ['ham', 'spam'], promptSlot: 5 })
    expect(() => findTask(manifest, 'press-sentiment')).toThrow(/unknown task "press-sentiment"; known tasks: press-genre, press-pos, .*email-spam/)
  })
})

describe('POS labels on sub-tokens', () => {
  it('gives each word the spacing of running text (the Brown detokenizer)', () => {
    const words = ['The', 'man', ',', '``', 'Hi', "''", '.']
    expect(wordPieces(words)).toEqual(['The', ' man', ',', ' "', 'Hi', '"', '.'])
    expect(wordPieces(words).join('')).toBe(detokenize(words))
  })

  it('labels the first sub-token of each word and ignores the others', () => {
    const ex: TaggingExample = {
      id: 't#0',
      docId: 't',
      words: ['Emory', "University's", 'trustees', 'reconsidered', 'segregation', '.'],
      tags: ['NOUN', 'NOUN', 'NOUN', 'VERB', 'NOUN', '.']
    }
    const enc = encodeTagging(tok, ex, TAGS, 100)
    // word by word, the ids are those of the running sentence (no two punctuation words touch here)
    expect([...enc.ids]).toEqual([...tok.encode(detokenize(ex.words))])
    let at = 0
    const multi: string[] = []
    ex.words.forEach((w, i) => {
      const n = tok.encode(wordPieces(ex.words)[i]!).length
      if (n > 1) multi.push(w)
      expect(enc.tags![at]).toBe(TAGS.indexOf(ex.tags[i]!))
      for (let k = 1; k < n; k++) expect(enc.tags![at + k]).toBe(IGNORE_INDEX)
      at += n
    })
    expect(at).toBe(enc.ids.length)
    expect(multi.length).toBeGreaterThan(0) // the test covers words split into several tokens
    expect(enc).toMatchObject({ words: 6, wordsKept: 6, label: -1 })
  })

  it('drops whole words that do not fit, never part of one', () => {
    const ex: TaggingExample = { id: 't#1', docId: 't', words: ['Segregation', 'reconsidered', 'antidisestablishmentarianism', '.'], tags: ['NOUN', 'VERB', 'NOUN', '.'] }
    const full = encodeTagging(tok, ex, TAGS, 100)
    const firstTwo = tok.encode('Segregation reconsidered').length
    expect(tok.encode(' antidisestablishmentarianism').length).toBeGreaterThan(1)
    const cut = encodeTagging(tok, ex, TAGS, firstTwo + 1)
    expect(cut.wordsKept).toBe(2)
    expect(cut.ids.length).toBe(firstTwo)
    expect([...cut.ids]).toEqual([...full.ids.subarray(0, firstTwo)])
  })

  it('aligns every real press test sentence: one label per kept word', () => {
    const task = findTask(manifest, 'press-pos')
    for (const ex of readTaskExamples(task, 'test').slice(0, 200) as TaggingExample[]) {
      const enc = encodeTagging(tok, ex, task.labels, 61)
      const labelled = [...enc.tags!].filter((t) => t !== IGNORE_INDEX)
      expect(labelled).toEqual(ex.tags.slice(0, enc.wordsKept).map((t) => task.labels.indexOf(t)))
      expect(enc.ids.length).toBeLessThanOrEqual(61)
    }
  })
})

describe('prompt placement', () => {
  const ids = { cls: 2, sep: 3, pad: 0 }
  const p = 7 // <p0>
  const ex = { ids: Int32Array.from([100, 101, 102]), label: 1, tags: null, words: 0, wordsKept: 0 }
  const tagged = { ids: Int32Array.from([100, 101, 102]), label: -1, tags: Int32Array.from([4, IGNORE_INDEX, 6]), words: 2, wordsKept: 2 }
  const layout = (kind: 'gpt' | 'bert', promptId: number | null): Layout => ({ kind, promptId, maxLength: 16, ...ids })

  it('GPT: prompt at position 0, the head reads the last real token', () => {
    expect(layOut(ex, layout('gpt', p))).toEqual({ ids: Int32Array.from([p, 100, 101, 102]), positions: [3], labels: [1] })
    expect(layOut(ex, layout('gpt', null))).toEqual({ ids: Int32Array.from([100, 101, 102]), positions: [2], labels: [1] })
    expect(layOut(tagged, layout('gpt', p))).toEqual({ ids: Int32Array.from([p, 100, 101, 102]), positions: [1, 3], labels: [4, 6] })
  })

  it('BERT: prompt at position 1 after <cls>, the head reads <cls>', () => {
    expect(layOut(ex, layout('bert', p))).toEqual({ ids: Int32Array.from([2, p, 100, 101, 102, 3]), positions: [0], labels: [1] })
    expect(layOut(ex, layout('bert', null))).toEqual({ ids: Int32Array.from([2, 100, 101, 102, 3]), positions: [0], labels: [1] })
    expect(layOut(tagged, layout('bert', p))).toEqual({ ids: Int32Array.from([2, p, 100, 101, 102, 3]), positions: [2, 4], labels: [4, 6] })
  })

  it('keeps the same content with and without the prompt (the prompt place is reserved)', () => {
    expect(contentBudget('gpt', 16)).toBe(15)
    expect(contentBudget('bert', 16)).toBe(13)
    const long = { ...ex, ids: Int32Array.from({ length: 20 }, (_, i) => 100 + i) }
    expect(layOut(long, layout('bert', p)).ids.length).toBe(16)
    expect(layOut(long, layout('bert', null)).ids.length).toBe(15)
    expect(layOut(long, layout('gpt', null)).ids.subarray(0, 15)).toEqual(layOut(long, layout('gpt', p)).ids.subarray(1))
  })

  it('pads a batch to a multiple of 8 and indexes the read positions row by row', () => {
    const rows = [layOut(ex, layout('bert', p)), layOut(tagged, layout('gpt', null))]
    const b = makeBatch(rows, 0, 16)
    expect(b.shape).toEqual([2, 8])
    expect([...b.ids]).toEqual([2, p, 100, 101, 102, 3, 0, 0, 100, 101, 102, 0, 0, 0, 0, 0])
    expect([...b.rows]).toEqual([0, 8 + 0, 8 + 2])
    expect([...b.labels]).toEqual([1, 4, 6])
  })
})

describe('classification inputs', () => {
  it('encodes a prefix that equals the start of the whole text (real e-mails)', () => {
    const task = findTask(manifest, 'email-spam')
    for (const ex of readTaskExamples(task, 'test').slice(0, 60) as ClassificationExample[]) {
      expect([...encodePrefix(tok, ex.text, 61)]).toEqual([...tok.encode(ex.text).slice(0, 61)])
    }
    const enc = encodeClassification(tok, { id: 'x', docId: 'x', text: 'Buy now, limited offer', label: 'spam' }, ['ham', 'spam'], 61)
    expect(enc.label).toBe(1)
    expect([...enc.ids]).toEqual([...tok.encode('Buy now, limited offer')])
    expect(() => encodeClassification(tok, { id: 'y', docId: 'y', text: 'hi', label: 'eggs' }, ['ham', 'spam'], 8)).toThrow(/label "eggs"/)
  })

  it('reads the tasks from the data directory the runs use', () => {
    expect(path.dirname(findTask(manifest, 'press-genre').dir)).toBe(path.join(defaultStreamDir(inject('dataDir')), 'tasks', 'press'))
  })
})
