// Small tensor bookkeeping shared by the regularisation and distillation methods: snapshots of a model's
// parameters, maps of kept tensors and their plain-data form (what plugin state saves, training/plugin-state.ts).
import * as tf from '@tensorflow/tfjs'
import { IGNORE_INDEX, hostLabels, ops, readTensors, type LossBatch, type TransformerModel, type Weights } from '../model'
import type { Batch } from '../data'
import { lossInput, toLossBatch, type LossInput } from '../training/evaluate'
import type { TrainingContext } from '../training/plugin-api'
import type { TensorMap } from './tensor-map'

export { disposeMap, labelledRows, readMap, snapshotParams, tensorMap, type TensorMap } from './tensor-map'

/** Σ_p sum(weight_p · (θ_p − θ*_p)²) over the model's parameters; the shapes must match (fixed-size methods). */
export function weightedDistance(model: TransformerModel, weight: TensorMap, anchor: TensorMap): tf.Scalar {
  const terms: tf.Tensor[] = []
  for (const [role, v] of model.params) {
    const w = weight.get(role)
    const a = anchor.get(role)
    if (!w || !a) continue
    if (w.shape.join() !== v.shape.join()) throw new Error(`parameter ${role} has shape [${v.shape}] but its importance has [${w.shape}]; this method needs a fixed-size model`)
    terms.push(tf.sum(tf.mul(w, tf.square(tf.sub(v, a)))))
  }
  return (terms.length > 0 ? ops.addMany(terms) : tf.scalar(0)) as tf.Scalar
}

/** A memory or training batch as the model's loss input (GPT: next token; BERT: seeded masks), on the host. */
export function lossInputOf(ctx: TrainingContext, batch: Batch, maskSeed: number): LossInput {
  return lossInput(ctx.config.model.kind, batch, ctx.tokenizer, ctx.model.config.vocabSize, maskSeed)
}

/** The same, as tensors. */
export function lossBatchOf(ctx: TrainingContext, batch: Batch, maskSeed: number): LossBatch {
  return toLossBatch(lossInputOf(ctx, batch, maskSeed))
}

/** Each sequence of a batch as a batch of one (views, no copies). */
export function rowsOf(batch: Batch): Batch[] {
  const T = batch.seqLen
  const row = <A extends Int32Array | null>(a: A, r: number): A => (a ? a.subarray(r * T, (r + 1) * T) : a) as A
  return Array.from({ length: batch.batchSize }, (_, r) => ({
    batchSize: 1,
    seqLen: T,
    input: row(batch.input, r),
    target: row(batch.target, r),
    attentionMask: row(batch.attentionMask, r),
    blocks: [batch.blocks[r]!]
  }))
}

export function disposeBatch(batch: LossBatch): void {
  tf.dispose([batch.inputIds, batch.labels ?? []])
}
