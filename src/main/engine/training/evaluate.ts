// Perplexity of a model on fixed sequences of a tokenized split: what validation, `elle eval` and the
// comparisons all use, so every perplexity in the workbench is computed the same way.
import * as tf from '@tensorflow/tfjs'
import { BlockBatcher, type Batch, type PromptMode, type Tokenizer, type TokenizedSplit } from '../data'
import { maskTokens, type LossBatch, type TransformerModel } from '../model'
import { hashSeed } from '../model/rng'

export interface LossInput {
  shape: [number, number]
  inputIds: Int32Array
  labels: Int32Array
}

export interface EvaluationResult {
  loss: number
  ppl: number
  /** tokens the loss was computed on (BERT: masked positions only) */
  tokens: number
  sequences: number
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

export interface EvaluationSetOptions {
  seqLen: number
  batchSize: number
  maxSequences: number
  promptSlot?: number
  prompt: PromptMode
  seed: number
}

/** The fixed evaluation inputs of a split: the first sequences, with seeded masks for BERT. */
export function evaluationSet(
  model: TransformerModel,
  tokenizer: Tokenizer,
  split: Pick<TokenizedSplit, 'tokens' | 'offsets' | 'domain' | 'split'>,
  o: EvaluationSetOptions
): LossInput[] {
  const batcher = new BlockBatcher(split, tokenizer, { style: model.config.kind, seqLen: o.seqLen, promptSlot: o.promptSlot, prompt: o.prompt })
  return batcher
    .validationBatches(o.batchSize, o.maxSequences)
    .map((b, i) => lossInput(model.config.kind, b, tokenizer, model.config.vocabSize, hashSeed(o.seed, `eval/${split.domain}/${i}`)))
}

/**
 * Mean loss per labelled token over the inputs, and its perplexity. No gradients, no leaks.
 * Async: every batch's loss is computed first, then all are read back at once (no synchronous read).
 */
export async function evaluate(model: TransformerModel, inputs: readonly LossInput[], padId: number): Promise<EvaluationResult> {
  const pending: Array<{ loss: tf.Scalar; count: number }> = []
  let values: Array<Float32Array | Int32Array | Uint8Array>
  try {
    for (const input of inputs) {
      let count = 0
      for (const label of input.labels) if (label >= 0) count++
      if (count === 0) continue
      pending.push({ loss: tf.tidy(() => model.loss(toLossBatch(input), { training: false, padId })), count })
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
  return { loss: mean, ppl: Math.exp(mean), tokens, sequences: inputs.reduce((n, i) => n + i.shape[0], 0) }
}
