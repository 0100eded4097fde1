// Task examples as model inputs, with the domain prompt exactly where pre-training put it:
//   GPT:  [<p>, x1 .. xn]              the head reads the last real token (a causal model's first
//                                      position sees only the prompt)
//   BERT: [<cls>, <p>, x1 .. xn, <sep>] the head reads <cls> (position 0)
// Without a prompt the <p> is left out; the content keeps the same length, so the ablation changes only
// the prompt. POS labels sit on the first sub-token of each word; the other sub-tokens are ignored.
import { detokenize } from '../data/default-stream/brown'
import type { ClassificationExample, TaggingExample, Tokenizer } from '../data'
import { IGNORE_INDEX } from '../model/config'
import type { ModelKind } from '../model/config'

export interface EncodedExample {
  /** Content token ids (no <cls>, <sep> or prompt), at most the content budget. */
  ids: Int32Array
  /** Classification: the label's index; tagging: -1. */
  label: number
  /** Tagging: a label index on each word's first sub-token, IGNORE_INDEX elsewhere; null for classification. */
  tags: Int32Array | null
  /** Tagging: words in the sentence and words that fit in the budget (the rest are not scored). */
  words: number
  wordsKept: number
}

export interface Layout {
  kind: ModelKind
  /** Prompt token id, or null for none. */
  promptId: number | null
  /** Longest input, specials and prompt included (at most the model's maxLength). */
  maxLength: number
  cls: number
  sep: number
  pad: number
}

/** Content tokens per example: the prompt's place is reserved even when the prompt is off. */
export function contentBudget(kind: ModelKind, maxLength: number): number {
  return maxLength - (kind === 'bert' ? 3 : 1)
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c)

/**
 * The first `n` tokens of `text`, encoding only a prefix of it. The prefix is cut just before a
 * whitespace that follows a non-space, where the pre-tokenizer always ends a piece, so its tokens are
 * exactly the first tokens of the whole text (long e-mails cost no more than short ones).
 */
export function encodePrefix(tokenizer: Pick<Tokenizer, 'encode'>, text: string, n: number): Int32Array {
  let chars = n * 8 + 16
  for (;;) {
    let cut = chars
    while (cut < text.length && !(isSpace(text[cut]) && !isSpace(text[cut - 1]))) cut++
    if (cut >= text.length) return tokenizer.encode(text).slice(0, n)
    const ids = tokenizer.encode(text.slice(0, cut))
    if (ids.length >= n) return ids.slice(0, n)
    chars *= 2
  }
}

export function encodeClassification(tokenizer: Pick<Tokenizer, 'encode'>, example: ClassificationExample, labels: readonly string[], budget: number): EncodedExample {
  const label = labels.indexOf(example.label)
  if (label < 0) throw new Error(`example ${example.id}: label "${example.label}" is not one of the task's labels (${labels.join(', ')})`)
  return { ids: encodePrefix(tokenizer, example.text, budget), label, tags: null, words: 0, wordsKept: 0 }
}

/**
 * Each word with the spacing pre-training text gave it (the data layer's Brown detokenizer: no space
 * before `, . ; : ? ! ) ]`, none after `( [ $`), so a word's pieces are the tokens running text would get.
 * Words are encoded one by one so no token straddles two words.
 */
export function wordPieces(words: readonly string[]): string[] {
  const pieces: string[] = []
  let before = ''
  for (let i = 0; i < words.length; i++) {
    const upTo = detokenize(words.slice(0, i + 1))
    pieces.push(upTo.slice(before.length))
    before = upTo
  }
  return pieces
}

export function encodeTagging(tokenizer: Pick<Tokenizer, 'encode'>, example: TaggingExample, labels: readonly string[], budget: number): EncodedExample {
  if (example.words.length !== example.tags.length) throw new Error(`example ${example.id}: ${example.words.length} words but ${example.tags.length} tags`)
  const ids: number[] = []
  const tags: number[] = []
  let kept = 0
  const pieces = wordPieces(example.words)
  for (let w = 0; w < pieces.length; w++) {
    const tokens = tokenizer.encode(pieces[w]!)
    if (tokens.length === 0) continue
    if (ids.length + tokens.length > budget) break
    const tag = labels.indexOf(example.tags[w]!)
    if (tag < 0) throw new Error(`example ${example.id}: tag "${example.tags[w]}" is not one of the task's labels`)
    tokens.forEach((t, i) => {
      ids.push(t)
      tags.push(i === 0 ? tag : IGNORE_INDEX)
    })
    kept++
  }
  return { ids: Int32Array.from(ids), label: -1, tags: Int32Array.from(tags), words: example.words.length, wordsKept: kept }
}

/** One input row: its ids, the positions the head reads and their labels. */
export interface LaidOut {
  ids: Int32Array
  positions: number[]
  labels: number[]
}

export function layOut(example: EncodedExample, layout: Layout): LaidOut {
  const bert = layout.kind === 'bert'
  const prefix: number[] = bert ? [layout.cls] : []
  if (layout.promptId !== null) prefix.push(layout.promptId)
  const budget = contentBudget(layout.kind, layout.maxLength)
  const content = example.ids.length > budget ? example.ids.subarray(0, budget) : example.ids
  const ids = Int32Array.from([...prefix, ...content, ...(bert ? [layout.sep] : [])])
  if (!example.tags) {
    if (ids.length === 0) throw new Error('an example with no tokens and no prompt has nothing to classify')
    return { ids, positions: [bert ? 0 : ids.length - 1], labels: [example.label] }
  }
  const positions: number[] = []
  const labels: number[] = []
  for (let i = 0; i < content.length; i++) {
    const tag = example.tags[i]!
    if (tag === IGNORE_INDEX) continue
    positions.push(prefix.length + i)
    labels.push(tag)
  }
  return { ids, positions, labels }
}

export interface InputBatch {
  /** [rows, length] */
  shape: [number, number]
  ids: Int32Array
  /** Flat row indices (b * length + position) into the [rows * length, d] hidden states. */
  rows: Int32Array
  labels: Int32Array
}

/** Rows padded to the longest (rounded up to 8, so few distinct shapes reach the backend). */
export function makeBatch(rows: readonly LaidOut[], pad: number, maxLength: number): InputBatch {
  const longest = rows.reduce((n, r) => Math.max(n, r.ids.length), 1)
  const T = Math.min(maxLength, Math.ceil(longest / 8) * 8)
  const ids = new Int32Array(rows.length * T).fill(pad)
  const flat: number[] = []
  const labels: number[] = []
  rows.forEach((r, b) => {
    ids.set(r.ids, b * T)
    r.positions.forEach((p, i) => {
      flat.push(b * T + p)
      labels.push(r.labels[i]!)
    })
  })
  return { shape: [rows.length, T], ids, rows: Int32Array.from(flat), labels: Int32Array.from(labels) }
}
