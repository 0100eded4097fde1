// The distillation objective (distill.ts) as tensor code alone: what the run's thread, a data-parallel replica and
// the GPU page compute. Node-free: the GPU page bundles it.
import * as tf from '@tensorflow/tfjs'
// the model's modules, not its index (which loads the native matmul, a Node module)
import type { ForwardOptions, LossBatch, TransformerModel } from '../model/model'
import * as ops from '../model/ops'
import type { ObjectiveTerms } from '../model/train'
import { labelledRows } from './tensor-map'

/**
 * τ² · KL(softmax(t/τ) ‖ softmax(s/τ)), mean over rows, differentiable in the student logits s only;
 * the gradient is written out (τ·(p_S − p_T)/rows) so no log-softmax kernel is needed.
 */
export function distillationLoss(student: tf.Tensor, teacher: tf.Tensor, temperature: number): tf.Scalar {
  const n = student.shape[0]!
  const kl = tf.customGrad((...args: unknown[]) => {
    const s = args[0] as tf.Tensor
    const save = args[args.length - 1] as (tensors: tf.Tensor[]) => void
    const pT = tf.softmax(tf.div(teacher, temperature))
    const pS = tf.softmax(tf.div(s, temperature))
    // saved tensors outlive the forward pass's tidy; the backward pass needs both distributions
    save([pS, pT])
    const value = tf.mul(tf.sum(tf.mul(pT, tf.sub(tf.log(tf.maximum(pT, 1e-30)), tf.log(tf.maximum(pS, 1e-30))))), (temperature * temperature) / n)
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(tf.sub(saved[0]!, saved[1]!), tf.mul(dy, temperature / n))] }
  })
  return kl(student) as tf.Scalar
}

/**
 * The distillation objective of one (micro-)batch: (1 − α)·LM + α·τ²·KL over its labelled positions, and the
 * LM loss to report. Both are means over the batch's labelled positions, so a shard's terms weighted by its
 * share of the targets add up to the whole micro-batch's (what data-parallel replicas compute).
 */
export function distillTerms(student: TransformerModel, teacher: TransformerModel, batch: LossBatch, opts: ForwardOptions, alpha: number, temperature: number): ObjectiveTerms {
  const { rows, targets } = labelledRows(batch)
  const ids = tf.tensor1d(rows, 'int32')
  const zT = teacher.headLogits(ops.gatherRows(teacher.encode(batch.inputIds, { training: false, padId: opts.padId }), ids))
  const zS = student.headLogits(ops.gatherRows(student.encode(batch.inputIds, opts), ids))
  const lm = ops.crossEntropy(zS, targets)
  const kd = distillationLoss(zS, zT, temperature)
  return { objective: tf.add(tf.mul(lm, 1 - alpha), tf.mul(kd, alpha)) as tf.Scalar, loss: lm }
}
