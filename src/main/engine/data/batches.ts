/**
 * Fixed-length training blocks over a tokenized split, as flat Int32Array [batch, seqLen] buffers.
 * Pure TypeScript (no node:, no tfjs) so it runs in the main process, a worker or a browser.
 *
 * The split's documents are laid end to end with <eos> after each document, then cut into blocks:
 *   GPT:  source = [<prompt>, x1 .. x_{n-1}], target = [x1 .. x_n]   (ELLE's continual_lm layout)
 *         without a prompt: source = [x0 .. x_{n-1}], target = [x1 .. x_n]
 *   BERT: [<cls>, <prompt>, x1 .. x_k, <sep>, <pad>...]             (prompt at position 1, after CLS)
 *         without a prompt: [<cls>, x1 .. x_k, <sep>, <pad>...]; only the stream's last block is padded.
 */
import { DataError } from './errors'
import { hash53, Rng } from './rng'
import type { TokenArray, TokenizedSplit } from './cache'
import type { SpecialIds } from './tokenizer'

export type ModelStyle = 'gpt' | 'bert'

/** 'off': no prompt; 'own': the split's domain prompt; {slot}: another domain's prompt ("wrong prompt"). */
export type PromptMode = 'off' | 'own' | { slot: number }

/** What the batcher needs from a tokenizer (the Tokenizer class satisfies it). */
export interface TokenIdSource {
  readonly specialIds: SpecialIds
  promptId(slot: number): number
}

export interface BatcherOptions {
  style: ModelStyle
  seqLen: number
  /** Prompt slot of the split's own domain; required for prompt 'own'. */
  promptSlot?: number
  /** Default 'own' when promptSlot is given, else 'off'. */
  prompt?: PromptMode
  /** Seed for sampling and shuffling. Default 0. */
  seed?: number
  /**
   * Evaluation layout: the same target tokens with and without a prompt (the prompt ablation). BERT blocks
   * hold seqLen − 3 content tokens either way (without a prompt one more pad); GPT blocks are counted as
   * without a prompt, and `targetPositions` leaves out the one target the other layout lacks.
   */
  alignTargets?: boolean
}

export interface Batch {
  batchSize: number
  seqLen: number
  /** [batchSize, seqLen] row-major. */
  input: Int32Array
  /** GPT: next-token targets [batchSize, seqLen]. BERT: null (masking is the trainer's job). */
  target: Int32Array | null
  /** 1 for real tokens (specials and prompt included), 0 for padding. */
  attentionMask: Int32Array
  /** Which blocks the rows are, for reproducibility checks and logging. */
  blocks: number[]
}

export interface IteratorState {
  epoch: number
  position: number
}

export class BlockBatcher {
  readonly style: ModelStyle
  readonly seqLen: number
  readonly numBlocks: number
  /** Prompt token id placed in every block, or null. */
  readonly promptTokenId: number | null
  /** Content tokens each block consumes from the stream. */
  readonly contentLength: number
  /** Evaluation layout (BatcherOptions.alignTargets). */
  readonly alignTargets: boolean
  /** Number of documents of the split. */
  readonly documents: number
  private readonly stream: TokenArray
  /** stream position where each document starts (its <eos> is the last token before the next start) */
  private readonly docStarts: Int32Array
  private readonly ids: SpecialIds
  private readonly seed: number
  private readonly rng: Rng

  constructor(split: Pick<TokenizedSplit, 'tokens' | 'offsets' | 'domain' | 'split'>, tokenizer: TokenIdSource, opts: BatcherOptions) {
    const { style, seqLen } = opts
    if (!Number.isInteger(seqLen) || seqLen < (style === 'bert' ? 4 : 2)) {
      throw new DataError('BAD_OPTION', `seqLen must be an integer >= ${style === 'bert' ? 4 : 2}, got ${seqLen}`)
    }
    this.style = style
    this.seqLen = seqLen
    this.ids = tokenizer.specialIds
    this.seed = opts.seed ?? 0
    this.rng = new Rng(hash53('sample', this.seed))
    const mode: PromptMode = opts.prompt ?? (opts.promptSlot !== undefined ? 'own' : 'off')
    if (mode === 'off') this.promptTokenId = null
    else if (mode === 'own') {
      if (opts.promptSlot === undefined) throw new DataError('BAD_OPTION', `prompt 'own' needs the domain's promptSlot (${split.domain})`)
      this.promptTokenId = tokenizer.promptId(opts.promptSlot)
    } else this.promptTokenId = tokenizer.promptId(mode.slot)

    // Lay documents end to end with <eos> after each, in the split's own compact dtype.
    const nDocs = split.offsets.length - 1
    const stream = split.tokens instanceof Uint16Array ? new Uint16Array(split.tokens.length + nDocs) : new Uint32Array(split.tokens.length + nDocs)
    let at = 0
    this.documents = nDocs
    this.docStarts = new Int32Array(nDocs + 1)
    for (let d = 0; d < nDocs; d++) {
      this.docStarts[d] = at
      const doc = split.tokens.subarray(split.offsets[d] as number, split.offsets[d + 1] as number)
      stream.set(doc, at)
      at += doc.length
      stream[at++] = this.ids.eos
    }
    this.docStarts[nDocs] = at
    this.stream = stream
    this.alignTargets = opts.alignTargets ?? false

    const hasPrompt = this.promptTokenId !== null ? 1 : 0
    if (style === 'gpt') {
      this.contentLength = seqLen
      // Without a prompt each block needs one look-ahead token for its last target (aligned: either way).
      this.numBlocks = Math.max(0, Math.floor((stream.length - (this.alignTargets ? 1 : 1 - hasPrompt)) / seqLen))
    } else {
      this.contentLength = seqLen - 2 - (this.alignTargets ? 1 : hasPrompt)
      this.numBlocks = Math.ceil(stream.length / this.contentLength)
    }
    if (this.numBlocks === 0) {
      throw new DataError('BAD_OPTION', `${split.domain}/${split.split} has ${stream.length} tokens, too few for one block of seqLen ${seqLen}`)
    }
  }

  /** Write block `index` into row `row` of the output buffers. */
  private fill(index: number, row: number, input: Int32Array, target: Int32Array | null, mask: Int32Array): void {
    const S = this.seqLen
    const o = row * S
    const start = index * this.contentLength
    const p = this.promptTokenId
    if (this.style === 'gpt') {
      const t = target as Int32Array
      if (p !== null) {
        input[o] = p
        for (let i = 0; i < S; i++) t[o + i] = this.stream[start + i] as number
        for (let i = 1; i < S; i++) input[o + i] = this.stream[start + i - 1] as number
      } else {
        for (let i = 0; i < S; i++) {
          input[o + i] = this.stream[start + i] as number
          t[o + i] = this.stream[start + i + 1] as number
        }
      }
      mask.fill(1, o, o + S)
      return
    }
    let w = o
    input[w++] = this.ids.cls
    if (p !== null) input[w++] = p
    const end = Math.min(start + this.contentLength, this.stream.length)
    for (let i = start; i < end; i++) input[w++] = this.stream[i] as number
    input[w++] = this.ids.sep
    mask.fill(1, o, w)
    input.fill(this.ids.pad, w, o + S)
    mask.fill(0, w, o + S)
  }

  /** Assemble the given blocks into one batch. */
  batchOf(blocks: readonly number[]): Batch {
    const B = blocks.length
    const S = this.seqLen
    const input = new Int32Array(B * S)
    const target = this.style === 'gpt' ? new Int32Array(B * S) : null
    const mask = new Int32Array(B * S)
    blocks.forEach((b, row) => {
      if (!Number.isInteger(b) || b < 0 || b >= this.numBlocks) throw new DataError('BAD_OPTION', `block ${b} out of range 0..${this.numBlocks - 1}`)
      this.fill(b, row, input, target, mask)
    })
    return { batchSize: B, seqLen: S, input, target, attentionMask: mask, blocks: [...blocks] }
  }

  /** Blocks drawn uniformly with replacement from the batcher's seeded generator. */
  sample(batchSize: number): Batch {
    return this.batchOf(Array.from({ length: batchSize }, () => this.rng.int(this.numBlocks)))
  }

  /** Block order of an epoch: a permutation that depends only on (seed, epoch). */
  epochOrder(epoch: number): number[] {
    const order = Array.from({ length: this.numBlocks }, (_, i) => i)
    return new Rng(hash53(`epoch:${epoch}`, this.seed)).shuffle(order)
  }

  /**
   * Endless epoch-shuffled iterator: every block once per epoch, reshuffled when exhausted.
   * Batches are always full; a batch straddling an epoch end continues into the next epoch.
   */
  iterator(batchSize: number, start: IteratorState = { epoch: 0, position: 0 }): EpochIterator {
    return new EpochIterator(this, batchSize, start)
  }

  /**
   * The stream position of the token each position of block `index` is scored on, or -1: GPT, position t's
   * next-token target; BERT, the content token at t (specials, prompt and padding are -1). Aligned, GPT
   * leaves out the target only one layout has (with a prompt: the block's first, which has no context in
   * the block; without: the look-ahead), so both layouts score stream positions start+1 .. start+seqLen−1,
   * each after the same content tokens.
   */
  targetPositions(index: number): Int32Array {
    const S = this.seqLen
    const out = new Int32Array(S).fill(-1)
    const start = index * this.contentLength
    const hasPrompt = this.promptTokenId !== null
    if (this.style === 'gpt') {
      const shift = hasPrompt ? 0 : 1
      for (let i = 0; i < S; i++) out[i] = start + i + shift
      if (this.alignTargets) out[hasPrompt ? 0 : S - 1] = -1
      return out
    }
    const first = hasPrompt ? 2 : 1
    const end = Math.min(start + this.contentLength, this.stream.length)
    for (let i = start; i < end; i++) out[first + i - start] = i
    return out
  }

  /** The document (0-based, in split order) a stream position belongs to; a document's <eos> is its own. */
  documentAt(position: number): number {
    let lo = 0
    let hi = this.documents - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((this.docStarts[mid] as number) <= position) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** `n` block indices spread evenly over the split (all of them when n >= numBlocks), so a sample spans its documents. */
  spreadBlocks(n: number): number[] {
    if (n >= this.numBlocks) return Array.from({ length: this.numBlocks }, (_, i) => i)
    return Array.from({ length: n }, (_, i) => Math.floor((i * this.numBlocks) / n))
  }

  /** Deterministic validation set: the first `maxBlocks` blocks in order, in batches of batchSize. */
  validationBatches(batchSize: number, maxBlocks = Infinity): Batch[] {
    const n = Math.min(this.numBlocks, maxBlocks)
    const out: Batch[] = []
    for (let i = 0; i < n; i += batchSize) {
      out.push(this.batchOf(Array.from({ length: Math.min(batchSize, n - i) }, (_, k) => i + k)))
    }
    return out
  }
}

export class EpochIterator implements Iterator<Batch> {
  private order: number[]
  private state: IteratorState

  constructor(
    private readonly batcher: BlockBatcher,
    private readonly batchSize: number,
    start: IteratorState
  ) {
    this.state = { ...start }
    this.order = batcher.epochOrder(start.epoch)
  }

  /** Where the iterator is, to checkpoint and resume it exactly. */
  get position(): IteratorState {
    return { ...this.state }
  }

  next(): IteratorResult<Batch> {
    const blocks: number[] = []
    while (blocks.length < this.batchSize) {
      if (this.state.position >= this.order.length) {
        this.state = { epoch: this.state.epoch + 1, position: 0 }
        this.order = this.batcher.epochOrder(this.state.epoch)
      }
      blocks.push(this.order[this.state.position++] as number)
    }
    return { done: false, value: this.batcher.batchOf(blocks) }
  }

  [Symbol.iterator](): this {
    return this
  }
}
