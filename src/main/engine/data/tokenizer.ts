/**
 * One byte-level BPE tokenizer (GPT-2/RoBERTa style) serves both the GPT- and the BERT-style models:
 * byte-level BPE never needs <unk>, and RoBERTa shows it works for MLM. It is trained once per stream
 * and then frozen; domains added later use reserved prompt slots, so the vocabulary size never changes.
 *
 * Training and the tokenizer.json format come from the HF `tokenizers` native package. Its Node binding
 * only exposes `train(files)` with the model's default trainer (vocab 30000, no special tokens), so we
 * train with that and keep the alphabet plus the first merges: BPE merges are learned greedily in order,
 * so the first k merges are exactly what a trainer capped at that size would learn.
 *
 * `encode`/`decode` are a pure-TS re-implementation of the same byte-level BPE (synchronous, runs without
 * the native module); `encodeBatch` uses the native tokenizer. Tests check both agree.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { createRequire } from 'node:module'
import { DataError } from './errors'
import { sha256 } from './hash'

// The slice of the `tokenizers` binding we use, typed here because the package's own index.d.ts
// does not compile without skipLibCheck (undeclared InputSequence, Merges, ...).
interface HfEncoding {
  getIds(): number[]
}
export interface HfTokenizer {
  setPreTokenizer(preTokenizer: unknown): void
  train(files: string[]): void
  save(path: string, pretty?: boolean): void
  encodeBatch(texts: string[], options?: { addSpecialTokens?: boolean }): Promise<HfEncoding[]>
  decode(ids: number[], skipSpecialTokens: boolean): Promise<string>
}
interface HfModule {
  Tokenizer: { new (model: unknown): HfTokenizer; fromString(json: string): HfTokenizer }
  BPE: { empty(): unknown }
  byteLevelPreTokenizer(addPrefixSpace?: boolean, useRegex?: boolean): unknown
}

// The package is CommonJS with a native addon; createRequire keeps it out of bundlers' ESM interop.
const requireCjs = createRequire(import.meta.url)
let hfModule: HfModule | undefined
function hf(): HfModule {
  hfModule ??= requireCjs('tokenizers') as HfModule
  return hfModule
}

/** Fixed special tokens, at ids 0..6 in this order. */
export const SPECIAL_TOKENS = {
  pad: '<pad>',
  unk: '<unk>',
  cls: '<cls>',
  sep: '<sep>',
  mask: '<mask>',
  bos: '<bos>',
  eos: '<eos>'
} as const
export type SpecialName = keyof typeof SPECIAL_TOKENS
export type SpecialIds = Record<SpecialName, number>

export const DEFAULT_VOCAB_SIZE = 8000
export const DEFAULT_PROMPT_SLOTS = 16
/** Upper bound from the Node binding's default BPE trainer. */
export const MAX_TRAINED_VOCAB = 30000
export const TOKENIZER_FILE = 'tokenizer.json'

export function promptToken(slot: number): string {
  return `<p${slot}>`
}

export interface TrainTokenizerOptions {
  /** Text files to train on (read whole; one document or many per file, either is fine). */
  files?: string[]
  /** Or texts to train on (written to a temp file, since the binding trains from files only). */
  texts?: Iterable<string>
  /** Total vocabulary size including special, prompt and filler tokens. Default 8000. */
  vocabSize?: number
  /** Number of reserved prompt slots <p0>..<p{n-1}>. Default 16. */
  promptSlots?: number
}

// ---------------------------------------------------------------------------------------------
// Byte-level helpers (GPT-2's bytes_to_unicode, the same table the Rust ByteLevel uses)

const BYTE_TO_CHAR: string[] = (() => {
  const bs: number[] = []
  for (let b = 33; b <= 126; b++) bs.push(b)
  for (let b = 161; b <= 172; b++) bs.push(b)
  for (let b = 174; b <= 255; b++) bs.push(b)
  const cs = bs.slice()
  let n = 0
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b)
      cs.push(256 + n)
      n++
    }
  }
  const table = new Array<string>(256)
  bs.forEach((b, i) => {
    table[b] = String.fromCharCode(cs[i] as number)
  })
  return table
})()
const CHAR_TO_BYTE = new Map<string, number>(BYTE_TO_CHAR.map((c, b) => [c, b]))

// GPT-2 pre-tokenisation pattern as used by HF ByteLevel(use_regex=true). \s is spelled as the
// Unicode White_Space property because that is what Oniguruma's \s means for UTF-8 text.
const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu

const utf8 = new TextEncoder()

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

// ---------------------------------------------------------------------------------------------

interface TokenizerJson {
  added_tokens: Array<{ id: number; content: string; special: boolean }>
  model: {
    type: string
    vocab: Record<string, number>
    merges: Array<[string, string] | string>
  }
}

/** Typed wrapper over a frozen tokenizer.json. */
export class Tokenizer {
  /** The exact tokenizer.json text; `hash` is its sha256. */
  readonly json: string
  readonly hash: string
  readonly vocabSize: number
  readonly specialIds: SpecialIds
  readonly promptSlots: number

  private readonly idToTok: string[]
  private readonly tokToId: Map<string, number>
  private readonly specialSet: Set<number>
  private readonly mergeRanks: Map<string, number>
  private readonly specialSplit: RegExp | null
  private readonly wordCache = new Map<string, number[]>()
  private native: HfTokenizer | undefined

  private constructor(json: string) {
    this.json = json
    this.hash = sha256(json)
    let parsed: TokenizerJson
    try {
      parsed = JSON.parse(json) as TokenizerJson
    } catch (e) {
      throw new DataError('TOKENIZER', `tokenizer.json is not valid JSON: ${(e as Error).message}`)
    }
    if (parsed.model?.type !== 'BPE') {
      throw new DataError('TOKENIZER', `tokenizer.json: expected a BPE model, found ${String(parsed.model?.type)}`)
    }
    this.idToTok = []
    this.tokToId = new Map()
    for (const [tok, id] of Object.entries(parsed.model.vocab)) {
      this.idToTok[id] = tok
      this.tokToId.set(tok, id)
    }
    this.specialSet = new Set()
    for (const t of parsed.added_tokens) {
      this.idToTok[t.id] = t.content
      this.tokToId.set(t.content, t.id)
      if (t.special) this.specialSet.add(t.id)
    }
    this.vocabSize = this.idToTok.length
    const ids: Partial<SpecialIds> = {}
    for (const [name, tok] of Object.entries(SPECIAL_TOKENS) as Array<[SpecialName, string]>) {
      const id = this.tokToId.get(tok)
      if (id === undefined) throw new DataError('TOKENIZER', `tokenizer.json lacks the special token ${tok}`)
      ids[name] = id
    }
    this.specialIds = ids as SpecialIds
    let slots = 0
    while (this.tokToId.has(promptToken(slots))) slots++
    this.promptSlots = slots
    this.mergeRanks = new Map()
    parsed.model.merges.forEach((m, rank) => {
      const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m
      this.mergeRanks.set(`${a} ${b}`, rank)
    })
    const specials = parsed.added_tokens.map((t) => t.content).sort((a, b) => b.length - a.length)
    this.specialSplit = specials.length ? new RegExp(`(${specials.map(escapeRegExp).join('|')})`, 'u') : null
  }

  static fromJSON(json: string): Tokenizer {
    return new Tokenizer(json)
  }

  /** Id of prompt slot `slot` (<p{slot}>). */
  promptId(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.promptSlots) {
      throw new DataError('BAD_OPTION', `prompt slot ${slot} out of range 0..${this.promptSlots - 1}`)
    }
    return this.tokToId.get(promptToken(slot)) as number
  }

  tokenToId(token: string): number | undefined {
    return this.tokToId.get(token)
  }

  idToToken(id: number): string | undefined {
    return this.idToTok[id]
  }

  isSpecial(id: number): boolean {
    return this.specialSet.has(id)
  }

  /** Synchronous pure-TS encoding; identical ids to the HF tokenizer (no BOS/EOS added). */
  encode(text: string): Int32Array {
    const out: number[] = []
    const parts = this.specialSplit ? text.split(this.specialSplit) : [text]
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string
      if (part === '') continue
      // split() with one capture group puts the matched separators at odd indexes
      if (i % 2 === 1) {
        out.push(this.tokToId.get(part) as number)
        continue
      }
      for (const m of part.matchAll(PRETOKENIZE)) this.encodeWord(m[0], out)
    }
    return Int32Array.from(out)
  }

  private encodeWord(word: string, out: number[]): void {
    const cached = this.wordCache.get(word)
    if (cached) {
      for (const id of cached) out.push(id)
      return
    }
    let symbols: string[] = []
    for (const byte of utf8.encode(word)) symbols.push(BYTE_TO_CHAR[byte] as string)
    // Repeatedly apply the lowest-ranked merge present (leftmost on ties), as the Rust BPE does.
    while (symbols.length > 1) {
      let best = -1
      let bestRank = Infinity
      for (let i = 0; i < symbols.length - 1; i++) {
        const r = this.mergeRanks.get(`${symbols[i]} ${symbols[i + 1]}`)
        if (r !== undefined && r < bestRank) {
          bestRank = r
          best = i
        }
      }
      if (best < 0) break
      const a = symbols[best] as string
      const b = symbols[best + 1] as string
      const merged: string[] = []
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
          merged.push(a + b)
          i++
        } else merged.push(symbols[i] as string)
      }
      symbols = merged
    }
    const ids = symbols.map((s) => this.tokToId.get(s) ?? this.specialIds.unk)
    if (this.wordCache.size > 200_000) this.wordCache.clear()
    this.wordCache.set(word, ids)
    for (const id of ids) out.push(id)
  }

  /** Decode ids to text. Special tokens are kept as their text unless `skipSpecial`. */
  decode(ids: ArrayLike<number>, opts: { skipSpecial?: boolean } = {}): string {
    let text = ''
    let bytes: number[] = []
    const flush = (): void => {
      if (bytes.length) text += new TextDecoder('utf-8').decode(Uint8Array.from(bytes))
      bytes = []
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number
      const tok = this.idToTok[id]
      if (tok === undefined) throw new DataError('TOKENIZER', `decode: id ${id} outside vocabulary of ${this.vocabSize}`)
      if (this.specialSet.has(id)) {
        if (opts.skipSpecial) continue
        flush()
        text += tok
        continue
      }
      for (const ch of tok) {
        const b = CHAR_TO_BYTE.get(ch)
        if (b === undefined) throw new DataError('TOKENIZER', `decode: token ${JSON.stringify(tok)} is not byte-level`)
        bytes.push(b)
      }
    }
    flush()
    return text
  }

  /** The HF native tokenizer for this json (lazy). */
  nativeTokenizer(): HfTokenizer {
    this.native ??= hf().Tokenizer.fromString(this.json)
    return this.native
  }

  /** Encode many texts with the native tokenizer (fast path for building caches). */
  async encodeBatch(texts: string[]): Promise<Int32Array[]> {
    if (texts.length === 0) return []
    const encs = await this.nativeTokenizer().encodeBatch(texts, { addSpecialTokens: false })
    return encs.map((e) => Int32Array.from(e.getIds()))
  }

  /** Write tokenizer.json into `dir`; returns the file path. */
  save(dir: string): string {
    fs.mkdirSync(dir, { recursive: true })
    const file = path.join(dir, TOKENIZER_FILE)
    fs.writeFileSync(file, this.json)
    return file
  }
}

export function saveTokenizer(tokenizer: Tokenizer, dir: string): string {
  return tokenizer.save(dir)
}

/** Load a tokenizer from a tokenizer.json path or a directory containing one. */
export function loadTokenizer(p: string): Tokenizer {
  const file = fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, TOKENIZER_FILE) : p
  if (!fs.existsSync(file)) throw new DataError('NOT_FOUND', `tokenizer file not found: ${file}`, { file })
  const json = fs.readFileSync(file, 'utf8')
  try {
    // Validate with the real parser so a file Python could not load fails here too.
    hf().Tokenizer.fromString(json)
  } catch (e) {
    throw new DataError('TOKENIZER', `${file}: not a loadable tokenizer.json (${(e as Error).message})`, { file })
  }
  return Tokenizer.fromJSON(json)
}

/** Train a byte-level BPE tokenizer with the special and prompt tokens at fixed low ids. */
export async function trainTokenizer(opts: TrainTokenizerOptions): Promise<Tokenizer> {
  const vocabSize = opts.vocabSize ?? DEFAULT_VOCAB_SIZE
  const promptSlots = opts.promptSlots ?? DEFAULT_PROMPT_SLOTS
  const specials = [...Object.values(SPECIAL_TOKENS), ...Array.from({ length: promptSlots }, (_, i) => promptToken(i))]
  const minVocab = specials.length + 256 + 1
  if (!Number.isInteger(vocabSize) || vocabSize < minVocab || vocabSize > MAX_TRAINED_VOCAB + specials.length) {
    throw new DataError('BAD_OPTION', `vocabSize must be an integer in ${minVocab}..${MAX_TRAINED_VOCAB + specials.length}, got ${vocabSize}`)
  }
  if (!Number.isInteger(promptSlots) || promptSlots < 1 || promptSlots > 256) {
    throw new DataError('BAD_OPTION', `promptSlots must be an integer in 1..256, got ${promptSlots}`)
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'elle-tok-'))
  try {
    const files = [...(opts.files ?? [])]
    if (opts.texts) {
      const f = path.join(tmp, 'train.txt')
      const fd = fs.openSync(f, 'w')
      for (const t of opts.texts) fs.writeSync(fd, t.endsWith('\n') ? t : `${t}\n`)
      fs.closeSync(fd)
      files.push(f)
    }
    if (files.length === 0) throw new DataError('BAD_OPTION', 'trainTokenizer: give files or texts to train on')
    for (const f of files) {
      if (!fs.existsSync(f)) throw new DataError('NOT_FOUND', `tokenizer training file not found: ${f}`, { file: f })
    }

    const lib = hf()
    const trainer = new lib.Tokenizer(lib.BPE.empty())
    trainer.setPreTokenizer(lib.byteLevelPreTokenizer(false, true))
    trainer.train(files)
    const trainedFile = path.join(tmp, 'trained.json')
    trainer.save(trainedFile, false)
    const trained = JSON.parse(fs.readFileSync(trainedFile, 'utf8')) as TokenizerJson & Record<string, unknown>

    // Rebuild the vocabulary: specials, the full 256-symbol byte alphabet (so unseen bytes still
    // encode), then the merges in learned order until the target size.
    const vocab: Record<string, number> = {}
    let next = 0
    for (const s of specials) vocab[s] = next++
    for (let b = 0; b < 256; b++) vocab[BYTE_TO_CHAR[b] as string] = next++
    const merges: Array<[string, string]> = []
    for (const m of trained.model.merges) {
      if (next >= vocabSize) break
      const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m
      if (!(a in vocab) || !(b in vocab)) continue
      merges.push([a, b])
      if (!(a + b in vocab)) vocab[a + b] = next++
    }
    // A small corpus can run out of merges: fill with unused special tokens so the size is as configured.
    const added = specials.map((content, id) => addedToken(id, content))
    for (let i = 0; next < vocabSize; i++) added.push(addedToken(next++, `<unused${i}>`))

    const json = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: {
        ...trained.model,
        type: 'BPE',
        dropout: null,
        unk_token: SPECIAL_TOKENS.unk,
        vocab,
        merges
      }
    }
    // Round-trip through the native serializer so the file is byte-for-byte what HF writes.
    const canonicalFile = path.join(tmp, TOKENIZER_FILE)
    lib.Tokenizer.fromString(JSON.stringify(json)).save(canonicalFile, true)
    return Tokenizer.fromJSON(fs.readFileSync(canonicalFile, 'utf8'))
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

function addedToken(id: number, content: string): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }
}
