// Perplexity of a model on fixed sequences of a tokenized split: what validation, `elle eval` and the
// comparisons all use, so every perplexity in the workbench is computed the same way.
import * as tf from '@tensorflow/tfjs'
import { asEvaluation } from '../backend/native-matmul-flag'
import { BlockBatcher, type Batch, type PromptMode, type Tokenizer, type TokenizedSplit } from '../data'
import { IGNORE_INDEX, maskTokens, ops, type LossBatch, type TransformerModel } from '../model'
import { hashSeed } from '../model/rng'

export interface LossInput {
  shape: [number, number]
  inputIds: Int32Array
  labels: Int32Array
  /**
   * Evaluation sets only: the scored positions (flat indices into the batch), their targets, and the
   * validation document (0..documents−1 of the set) each belongs to. Built once with the set, so evaluating
   * does no per-token work in JavaScript.
   */
  scored?: { rows: Int32Array; targets: Int32Array; docs: Int32Array; documents: number; tokensPerDoc: Float64Array }
}

export interface EvaluationResult {
  loss: number
  ppl: number
  /** tokens the loss was computed on (BERT: masked positions only) */
  tokens: number
  sequences: number
  /** per validation document with at least one scored token: summed loss (nats) and scored tokens (evaluation sets only) */
  docLoss?: number[]
  docTokens?: number[]
}

export function toLossBatch(input: LossInput): LossBatch {
  return {
    inputIds: tf.tensor2d(input.inputIds, input.shape, 'int32'),
    labels: tf.tensor2d(input.labels, input.shape, 'int32'),
    host: { inputIds: input.inputIds, labels: input.labels }
  }
}

/** Tokens masking must never select: padding, specials and every prompt slot. */
export function protectedIds(tokenizer: Tokenizer): number[] {
  const ids = tokenizer.specialIds
  const prompts = Array.from({ length: tokenizer.promptSlots }, (_, slot) => tokenizer.promptId(slot))
  return [ids.pad, ids.cls, ids.sep, ids.bos, ids.eos, ids.unk, ...prompts]
}

/** Token ids and labels of one batch: GPT predicts the next token, BERT the masked ones (seeded). */
export function lossInput(kind: 'bert' | 'gpt', batch: Batch, tokenizer: Tokenizer, vocabSize: number, maskSeed: number): LossInput {
  const shape: [number, number] = [batch.batchSize, batch.seqLen]
  if (kind === 'gpt') return { shape, inputIds: batch.input, labels: batch.target! }
  const masked = maskTokens(batch.input, {
    maskId: tokenizer.specialIds.mask,
    vocabSize,
    protectedIds: protectedIds(tokenizer),
    seed: maskSeed,
    seqLen: batch.seqLen
  })
  return { shape, inputIds: masked.inputIds, labels: masked.labels }
}

/** What an evaluation set depends on of the model: its kind (next-token or masked targets) and vocabulary. */
export type EvaluatedModel = { readonly config: Pick<TransformerModel['config'], 'kind' | 'vocabSize'> }

export interface EvaluationSetOptions {
  seqLen: number
  batchSize: number
  /** blocks to evaluate, spread evenly over the split (across its documents); 0 or absent: every block */
  maxSequences?: number
  /**
   * Instead of a block count: the fewest evenly spread blocks whose scored target tokens reach this many (or the
   * whole split when it has fewer). 0 or absent: not used. Excludes `maxSequences`.
   */
  minTokens?: number
  promptSlot?: number
  prompt: PromptMode
  seed: number
}

/**
 * The fixed evaluation inputs of a split: every block (or `maxSequences` of them spread over the split),
 * laid out so the scored target tokens are the same with and without a prompt, with seeded masks for BERT
 * (which then select the same content tokens in both layouts), and each scored token's document.
 */
export function evaluationSet(
  model: EvaluatedModel,
  tokenizer: Tokenizer,
  split: Pick<TokenizedSplit, 'tokens' | 'offsets' | 'domain' | 'split'>,
  o: EvaluationSetOptions
): LossInput[] {
  const batcher = new BlockBatcher(split, tokenizer, { style: model.config.kind, seqLen: o.seqLen, promptSlot: o.promptSlot, prompt: o.prompt, alignTargets: true })
  const build = (blocks: number[]): LossInput[] => blockInputs(batcher, blocks, model, tokenizer, split.domain, o)
  const minTokens = o.minTokens ?? 0
  if (minTokens <= 0) return build(batcher.spreadBlocks(o.maxSequences && o.maxSequences > 0 ? o.maxSequences : batcher.numBlocks))
  // The scored tokens per block vary (BERT masks ~15%, documents end mid-block): estimate the block count from a
  // probe of spread blocks (an estimate: BERT's masks are seeded per batch), then take more until the floor is reached.
  const scoredIn = (set: readonly LossInput[]): number => set.reduce((n, i) => n + (i.scored?.rows.length ?? 0), 0)
  const probeBlocks = Math.min(64, batcher.numBlocks)
  const probe = scoredIn(build(batcher.spreadBlocks(probeBlocks)))
  let k = probe > 0 ? Math.ceil(((probeBlocks * minTokens) / probe) * 1.02) : batcher.numBlocks
  for (;;) {
    const set = build(batcher.spreadBlocks(k))
    if (k >= batcher.numBlocks || scoredIn(set) >= minTokens) return set
    k = Math.min(batcher.numBlocks, Math.ceil(k * 1.1))
  }
}

/** The loss inputs of the given blocks, in batches, with every scored token's target and document. */
function blockInputs(batcher: BlockBatcher, blocks: readonly number[], model: EvaluatedModel, tokenizer: Tokenizer, domain: string, o: EvaluationSetOptions): LossInput[] {
  const kind = model.config.kind
  const out: LossInput[] = []
  for (let i = 0; i < blocks.length; i += o.batchSize) {
    const ids = blocks.slice(i, i + o.batchSize)
    const batch = batcher.batchOf(ids)
    // the mask seed follows the block, not the batch, so a sample and the whole split mask a block alike
    const input = lossInput(kind, batch, tokenizer, model.config.vocabSize, hashSeed(o.seed, `eval/${domain}/${ids[0]}`))
    const positions = ids.map((b) => batcher.targetPositions(b))
    const rows: number[] = []
    const targets: number[] = []
    const docs: number[] = []
    const S = o.seqLen
    for (let r = 0; r < ids.length; r++) {
      for (let t = 0; t < S; t++) {
        const at = r * S + t
        const pos = positions[r]![t]!
        if (pos < 0) input.labels[at] = IGNORE_INDEX
        const label = input.labels[at]!
        if (label < 0) continue
        rows.push(at)
        targets.push(label)
        docs.push(batcher.documentAt(pos))
      }
    }
    const tokensPerDoc = new Float64Array(batcher.documents)
    for (const d of docs) tokensPerDoc[d]! += 1
    out.push({ ...input, scored: { rows: Int32Array.from(rows), targets: Int32Array.from(targets), docs: Int32Array.from(docs), documents: batcher.documents, tokensPerDoc } })
  }
  return out
}

/**
 * Mean loss per labelled token over the inputs, and its perplexity. No gradients, no leaks. Evaluation sets
 * (inputs with `scored`) run batched: the head only on scored rows, per-document sums on the device, one
 * read per call; they also return the per-document losses the bootstrap intervals resample.
 * Async: losses are computed first, then read back at once (no synchronous read, which WebGPU lacks).
 */
export async function evaluate(model: TransformerModel, inputs: readonly LossInput[], padId: number, shards: ShardedEvaluation | null = null): Promise<EvaluationResult> {
  const sequences = inputs.reduce((n, i) => n + i.shape[0], 0)
  if (inputs.length > 0 && inputs.every((i) => i.scored)) return evaluateScored(model, inputs, padId, sequences, shards)
  const pending: Array<{ loss: tf.Scalar; count: number }> = []
  let values: Array<Float32Array | Int32Array | Uint8Array>
  try {
    for (const input of inputs) {
      let count = 0
      for (const label of input.labels) if (label >= 0) count++
      if (count === 0) continue
      pending.push({ loss: asEvaluation(() => tf.tidy(() => model.loss(toLossBatch(input), { training: false, padId }))), count })
    }
    values = await Promise.all(pending.map((p) => p.loss.data()))
  } finally {
    tf.dispose(pending.map((p) => p.loss))
  }
  let weighted = 0
  let tokens = 0
  pending.forEach((p, i) => {
    weighted += (values[i]![0] ?? NaN) * p.count
    tokens += p.count
  })
  const mean = tokens > 0 ? weighted / tokens : NaN
  return { loss: mean, ppl: Math.exp(mean), tokens, sequences }
}

/**
 * Replica threads that evaluate parts of an evaluation set (data-parallel training, parallel.ts): the
 * scored sets are split into consecutive parts of batches, each thread sums its NLL per document, and the
 * sums are added in thread order (equal to the one-thread sums to float rounding).
 */
export interface ShardedEvaluation {
  /** threads besides this one */
  readonly replicas: number
  /** Give the replicas the model's current weights (their teacher, if any, stays). */
  sync(model: TransformerModel): Promise<void>
  /** Replica i sums the NLL per document of parts[i] (read from `column`, PNN's routing; null: the model's output); posted at once. */
  evaluate(parts: LossInput[][], padId: number, column: number | null): Promise<Float32Array[]>
}

/** The summed NLL per validation document of scored inputs (what a thread evaluates). */
export async function scoredSums(
  model: TransformerModel,
  inputs: readonly LossInput[],
  padId: number,
  D: number,
  /** the per-row NLL of the scored rows' logits (a benchmark swaps in an older one to compare) */
  rowNll: (logits: tf.Tensor2D, targets: Int32Array) => tf.Tensor1D = ops.rowNll
): Promise<Float32Array> {
  let sums: tf.Tensor1D = tf.zeros([D])
  for (const input of inputs) {
    const s = input.scored!
    if (s.rows.length === 0) continue
    // asEvaluation: on wasm-native the tied head runs on XNNPACK (7× faster than MLAS at the benchmark's widths)
    const next = asEvaluation(() =>
      tf.tidy(() => {
        const ids = tf.tensor2d(input.inputIds, input.shape, 'int32')
        const h = model.encode(ids, { training: false, padId })
        const sel = tf.gather(h, tf.tensor1d(s.rows, 'int32'))
        const nll = rowNll(model.headLogits(sel), s.targets)
        // tf.oneHot needs depth >= 2: a one-document split (elle eval --text) is a plain sum
        const perDoc = D < 2 ? tf.sum(nll).reshape([1]) : tf.matMul(nll.reshape([1, -1]), tf.oneHot(tf.tensor1d(s.docs, 'int32'), D).toFloat()).reshape([D])
        return tf.add(sums, perDoc) as tf.Tensor1D
      })
    )
    sums.dispose()
    sums = next
  }
  try {
    return (await sums.data()) as Float32Array
  } finally {
    sums.dispose()
  }
}

/**
 * Splits scored inputs into `threads` parts of similar size, the first for this thread: consecutive batches
 * when there are enough of them, else the rows of every batch (a validation set is often one large batch).
 */
export function splitScored(inputs: readonly LossInput[], threads: number): LossInput[][] {
  const ranges = (n: number): Array<[number, number]> => {
    const out: Array<[number, number]> = []
    for (let i = 0, start = 0; i < threads; i++) {
      const size = Math.floor(n / threads) + (i < n % threads ? 1 : 0)
      out.push([start, start + size])
      start += size
    }
    return out
  }
  if (inputs.length >= threads) return ranges(inputs.length).map(([a, b]) => inputs.slice(a, b))
  // (a part left empty, when batches have fewer rows than there are threads, is dropped)
  return ranges(0)
    .map((_, i) =>
      inputs.flatMap((input) => {
        const [a, b] = ranges(input.shape[0])[i]!
        return b > a ? [rowSlice(input, a, b)] : []
      })
    )
    .filter((part) => part.length > 0)
}

/** Rows a..b−1 of a scored input, with its scored positions re-indexed (its documents keep their numbers). */
function rowSlice(input: LossInput, a: number, b: number): LossInput {
  const S = input.shape[1]
  const s = input.scored!
  const keep: number[] = []
  for (let j = 0; j < s.rows.length; j++) if (s.rows[j]! >= a * S && s.rows[j]! < b * S) keep.push(j)
  const docs = Int32Array.from(keep, (j) => s.docs[j]!)
  const tokensPerDoc = new Float64Array(s.documents)
  for (const d of docs) tokensPerDoc[d]! += 1
  return {
    shape: [b - a, S],
    inputIds: input.inputIds.slice(a * S, b * S),
    labels: input.labels.slice(a * S, b * S),
    scored: { rows: Int32Array.from(keep, (j) => s.rows[j]! - a * S), targets: Int32Array.from(keep, (j) => s.targets[j]!), docs, documents: s.documents, tokensPerDoc }
  }
}

async function evaluateScored(
  model: TransformerModel,
  inputs: readonly LossInput[],
  padId: number,
  sequences: number,
  shards: ShardedEvaluation | null
): Promise<EvaluationResult> {
  const D = inputs[0]!.scored!.documents
  const tokensPerDoc = new Float64Array(D)
  for (const input of inputs) for (let d = 0; d < D; d++) tokensPerDoc[d]! += input.scored!.tokensPerDoc[d]!
  let perDoc: Float32Array | Float64Array
  const rows = inputs.reduce((n, i) => n + i.shape[0], 0)
  const threads = shards ? Math.min(shards.replicas + 1, rows) : 1
  if (shards && threads > 1) {
    const parts = splitScored(inputs, threads)
    await shards.sync(model)
    const column = (model as { readColumn?: number | null }).readColumn ?? null
    const pending = shards.evaluate(parts.slice(1), padId, column)
    pending.catch(() => undefined)
    const own = await scoredSums(model, parts[0]!, padId, D)
    perDoc = Float64Array.from(own)
    for (const part of await pending) part.forEach((x, d) => (perDoc[d]! += x))
  } else perDoc = await scoredSums(model, inputs, padId, D)
  const docLoss: number[] = []
  const docTokens: number[] = []
  let loss = 0
  let tokens = 0
  for (let d = 0; d < D; d++) {
    if (tokensPerDoc[d] === 0) continue
    docLoss.push(perDoc[d]!)
    docTokens.push(tokensPerDoc[d]!)
    loss += perDoc[d]!
    tokens += tokensPerDoc[d]!
  }
  const mean = tokens > 0 ? loss / tokens : NaN
  return { loss: mean, ppl: Math.exp(mean), tokens, sequences, docLoss, docTokens }
}
