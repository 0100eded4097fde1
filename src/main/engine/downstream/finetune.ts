// Fine-tuning a pre-trained model on one labelled task and scoring it on the task's test split.
// All weights are tuned (the prompt embedding included), with a dense head on the pooled position
// (sequence classification) or on each word's first sub-token (POS), AdamW with linear warm-up and
// decay, a fixed number of updates. Everything is seeded: the same seed gives the same scores.
import * as tf from '@tensorflow/tfjs'
import type { ClassificationExample, TaggingExample, Tokenizer } from '../data'
import { isDecayed, type TransformerModel } from '../model/model'
import { AdamW, globalNorm, learningRate } from '../model/optim'
import { crossEntropy, dropout, gatherRows, linear } from '../model/ops'
import { hashSeed, Rng } from '../model/rng'
import { contentBudget, encodeClassification, encodeTagging, layOut, makeBatch, type EncodedExample, type InputBatch, type LaidOut, type Layout } from './encode'
import { accuracyOf, confusionMatrix, macroF1Of } from './metrics'
import { readTaskExamples, type DownstreamTask } from './tasks'

export interface FinetuneSettings {
  /** Optimizer updates (the fixed budget). */
  steps: number
  batchSize: number
  /** Peak learning rate, for every weight. */
  lr: number
  /** Share of the updates spent warming the rate up linearly; then linear decay to 0. */
  warmupFraction: number
  weightDecay: number
  /** Global gradient-norm clip (0: off). */
  clipNorm: number
  /** Dropout on the pooled features before the head (the model's own dropout is its config's). */
  headDropout: number
  /** Longest input, specials and prompt included; null = the model's maxLength, at most 128. */
  maxLength: number | null
  evalBatchSize: number
}

/**
 * Sized for one CPU core: a tiny model (2 layers, d 64, inputs of 64 tokens) makes 150 updates of 16
 * examples in 8-15 s on wasm, depending on the machine's load. The rate is far above BERT's 2e-5: the
 * models are small and briefly pre-trained and the budget is 150 updates, not 10 epochs. 3e-3 did
 * better on a d-64 GPT but was unstable once the model had grown to d 128 (docs/downstream.md); one
 * rate for every checkpoint keeps the rows of a forgetting matrix comparable.
 */
export const DEFAULT_FINETUNE: Readonly<FinetuneSettings> = {
  steps: 150,
  batchSize: 16,
  lr: 1e-3,
  warmupFraction: 0.1,
  weightDecay: 0.01,
  clipNorm: 1,
  headDropout: 0.1,
  maxLength: null,
  evalBatchSize: 64
}

const MAX_DEFAULT_LENGTH = 128

export function resolveSettings(partial: Partial<FinetuneSettings> = {}): FinetuneSettings {
  const s: FinetuneSettings = { ...DEFAULT_FINETUNE, ...partial }
  const int = (name: keyof FinetuneSettings, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`fine-tuning ${name} must be an integer of at least ${min}, got ${v}`)
  }
  int('steps', s.steps, 1)
  int('batchSize', s.batchSize, 1)
  int('evalBatchSize', s.evalBatchSize, 1)
  if (s.maxLength !== null) int('maxLength', s.maxLength, 4)
  if (!(s.lr > 0 && s.lr < 1)) throw new RangeError(`fine-tuning lr must be in (0, 1), got ${s.lr}`)
  for (const k of ['warmupFraction', 'weightDecay', 'headDropout'] as const) {
    if (!(s[k] >= 0 && s[k] < 1)) throw new RangeError(`fine-tuning ${k} must be in [0, 1), got ${s[k]}`)
  }
  if (!(s.clipNorm >= 0)) throw new RangeError(`fine-tuning clipNorm must be at least 0, got ${s.clipNorm}`)
  return s
}

export interface SeedScore {
  seed: number
  accuracy: number
  macroF1: number
  /** Mean training loss over the last 10 updates. */
  trainLoss: number
  seconds: number
}

export interface FinetuneOutcome extends SeedScore {
  /** counts[gold][predicted] over the task's labels. */
  confusion: number[][]
  /** Test examples (classification) or words (tagging) scored. */
  scored: number
  /** Tagging: words left out because the sentence was longer than maxLength. */
  truncatedWords: number
}

export interface FinetuneInput {
  /** A model holding the pre-trained weights; it is tuned in place (pass a copy). */
  model: TransformerModel
  tokenizer: Pick<Tokenizer, 'encode' | 'specialIds' | 'hash'>
  task: DownstreamTask
  /** Prompt token id at the prompt's place, or null for none. */
  promptId: number | null
  seed: number
  settings?: Partial<FinetuneSettings>
  /** Called after each update (jobs report progress from it; throwing from it stops the fine-tuning). */
  onUpdate?: (update: number, updates: number) => void
}

// ------------------------------------------------------------------------------------------------
// Encoded task data, shared by every seed and checkpoint with the same tokenizer and length

interface TaskData {
  size: number
  /** Encodes on first use: a run of 150 x 16 draws needs only part of a large training split. */
  train(index: number): EncodedExample
  test: EncodedExample[]
}

const dataCache = new Map<string, TaskData & { raw: unknown[] }>()

function encoderFor(task: DownstreamTask, tokenizer: Pick<Tokenizer, 'encode'>, budget: number): (e: ClassificationExample | TaggingExample) => EncodedExample {
  return task.kind === 'classification'
    ? (e) => encodeClassification(tokenizer, e as ClassificationExample, task.labels, budget)
    : (e) => encodeTagging(tokenizer, e as TaggingExample, task.labels, budget)
}

export function taskData(task: DownstreamTask, tokenizer: Pick<Tokenizer, 'encode' | 'hash'>, budget: number): TaskData {
  const key = `${task.dir}\0${tokenizer.hash}\0${budget}`
  // The examples cache re-reads a rewritten file, giving a new array: then re-encode too.
  const raw = readTaskExamples(task, 'train')
  const hit = dataCache.get(key)
  if (hit && hit.raw === raw) return hit
  const encode = encoderFor(task, tokenizer, budget)
  const encoded: (EncodedExample | undefined)[] = new Array(raw.length)
  const data = {
    raw,
    size: raw.length,
    train: (i: number) => (encoded[i] ??= encode(raw[i]!)),
    test: readTaskExamples(task, 'test').map(encode)
  }
  if (dataCache.size > 32) dataCache.clear()
  dataCache.set(key, data)
  return data
}

/** Seeded epoch permutations (Fisher-Yates), reshuffled when exhausted. */
class ExampleOrder {
  private order: number[] = []
  private at = 0
  private epoch = 0
  constructor(
    private readonly size: number,
    private readonly seed: number
  ) {}
  next(): number {
    if (this.at >= this.order.length) {
      const rng = new Rng(hashSeed(this.seed, `finetune/order/${this.epoch++}`))
      this.order = Array.from({ length: this.size }, (_, i) => i)
      for (let i = this.size - 1; i > 0; i--) {
        const j = rng.int(i + 1)
        ;[this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!]
      }
      this.at = 0
    }
    return this.order[this.at++]!
  }
}

function headInit(d: number, classes: number, seed: number): Float32Array {
  const rng = new Rng(hashSeed(seed, 'finetune/head'))
  const w = new Float32Array(d * classes)
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * 0.02
  return w
}

let headCounter = 0

/** Fine-tune `model` on the task with one seed and score it on the test split. Leaks no tensors. */
export function finetuneOnce(input: FinetuneInput): FinetuneOutcome {
  const started = performance.now()
  const { model, task, seed } = input
  const s = resolveSettings(input.settings)
  const cfg = model.config
  const maxLength = Math.min(cfg.maxLength, s.maxLength ?? MAX_DEFAULT_LENGTH)
  if (contentBudget(cfg.kind, maxLength) < 1) throw new RangeError(`maxLength ${maxLength} leaves no room for text next to the specials and the prompt`)
  const ids = input.tokenizer.specialIds
  const layout: Layout = { kind: cfg.kind, promptId: input.promptId, maxLength, cls: ids.cls, sep: ids.sep, pad: ids.pad }
  const data = taskData(task, input.tokenizer, contentBudget(cfg.kind, maxLength))
  if (data.size === 0 || data.test.length === 0) throw new Error(`task ${task.name} has an empty train or test split`)
  const classes = task.labels.length

  const prefix = `finetune${headCounter++}/`
  // tidy frees the initial values' handles; the variables are not scoped and survive it.
  const [kernel, bias] = tf.tidy(() => [
    tf.variable(tf.tensor2d(headInit(cfg.hidden, classes, seed), [cfg.hidden, classes]), true, `${prefix}head.kernel`),
    tf.variable(tf.zeros([classes]), true, `${prefix}head.bias`)
  ]) as [tf.Variable, tf.Variable]
  // Role names as the model's; the head's kernel is decayed, its bias is not (isDecayed).
  const params = new Map<string, tf.Variable>([...model.params, ['classifier.kernel', kernel], ['classifier.bias', bias]])
  const roleOf = new Map<string, string>([...params].map(([role, v]) => [v.name, role]))
  const vars = [...params.values()]
  const adam = new AdamW(params, { decay: isDecayed, weightDecay: s.weightDecay })
  const schedule = { peak: s.lr, warmupSteps: Math.ceil(s.warmupFraction * s.steps), totalSteps: s.steps }

  const logits = (batch: InputBatch, training: boolean, stepSeed: number): tf.Tensor => {
    const h = model.encode(tf.tensor2d(batch.ids, batch.shape, 'int32'), { training, seed: stepSeed, padId: ids.pad })
    let pooled = gatherRows(h, tf.tensor1d(batch.rows, 'int32'))
    if (training && s.headDropout > 0) pooled = dropout(pooled, s.headDropout, hashSeed(stepSeed, 'head'))
    return linear(pooled, kernel, bias)
  }

  try {
    const order = new ExampleOrder(data.size, seed)
    const losses: number[] = []
    for (let step = 0; step < s.steps; step++) {
      const rows: LaidOut[] = []
      // A sentence whose first word does not fit has nothing to label; skip it (bounded by one epoch).
      for (let tries = 0; rows.length < s.batchSize && tries < data.size + s.batchSize; tries++) {
        const row = layOut(data.train(order.next()), layout)
        if (row.positions.length > 0) rows.push(row)
      }
      if (rows.length === 0) throw new Error(`task ${task.name}: no training example fits in ${maxLength} tokens`)
      const batch = makeBatch(rows, ids.pad, maxLength)
      const stepSeed = hashSeed(seed, `finetune/step${step}`)
      const { value, grads } = tf.variableGrads(() => crossEntropy(logits(batch, true, stepSeed), batch.labels), vars)
      losses.push(value.dataSync()[0]!)
      value.dispose()
      const byRole = new Map<string, tf.Tensor>()
      for (const [name, g] of Object.entries(grads)) byRole.set(roleOf.get(name)!, g)
      const normT = globalNorm(byRole.values())
      const norm = normT.dataSync()[0]!
      normT.dispose()
      const scale = s.clipNorm > 0 && norm > s.clipNorm ? s.clipNorm / norm : 1
      adam.apply(byRole, learningRate(step, schedule), scale)
      for (const g of byRole.values()) g.dispose()
      if (!Number.isFinite(losses[losses.length - 1]!)) throw new Error(`fine-tuning ${task.name}: the loss became non-finite at update ${step + 1}`)
      input.onUpdate?.(step + 1, s.steps)
    }

    // Score the test split in order (no dropout).
    const gold: number[] = []
    const predicted: number[] = []
    let truncatedWords = 0
    for (let from = 0; from < data.test.length; from += s.evalBatchSize) {
      const rows: LaidOut[] = []
      for (const ex of data.test.slice(from, from + s.evalBatchSize)) {
        truncatedWords += ex.words - ex.wordsKept
        const row = layOut(ex, layout)
        if (row.positions.length > 0) rows.push(row)
      }
      if (rows.length === 0) continue
      const batch = makeBatch(rows, ids.pad, maxLength)
      const argmax = tf.tidy(() => tf.argMax(logits(batch, false, 0), 1))
      const out = argmax.dataSync()
      argmax.dispose()
      batch.labels.forEach((l, i) => {
        gold.push(l)
        predicted.push(out[i]!)
      })
    }
    const confusion = confusionMatrix(gold, predicted, classes)
    const tail = losses.slice(-10)
    return {
      seed,
      accuracy: accuracyOf(confusion),
      macroF1: macroF1Of(confusion),
      trainLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
      seconds: (performance.now() - started) / 1000,
      confusion,
      scored: gold.length,
      truncatedWords
    }
  } finally {
    adam.dispose()
    kernel.dispose()
    bias.dispose()
  }
}

/** Accuracy and macro-F1 of always predicting the training split's most frequent label, on the same test items. */
export function majorityBaseline(task: DownstreamTask, confusion: readonly (readonly number[])[]): { label: string; accuracy: number; macroF1: number } {
  let best = task.labels[0]!
  for (const l of task.labels) if ((task.trainLabelCounts[l] ?? 0) > (task.trainLabelCounts[best] ?? 0)) best = l
  const index = task.labels.indexOf(best)
  // Every gold item predicted as the majority label: the gold counts (row sums) go to one column.
  const baseline = confusion.map((row) => row.map((_, p) => (p === index ? row.reduce((a, b) => a + b, 0) : 0)))
  return { label: best, accuracy: accuracyOf(baseline), macroF1: macroF1Of(baseline) }
}
