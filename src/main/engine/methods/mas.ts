// Memory Aware Synapses (Aljundi et al. 2018): importance Ω_p = mean over memory batches of
// |∂ ‖f(x)‖² / ∂θ_p|, unsupervised, where f(x) is the LM head's logits (pre-softmax, [V] per row) at
// the positions the loss is computed on (GPT: every position with a next token; BERT: the masked ones)
// and ‖f‖² is averaged over those rows. Ω is summed over domains, θ* ← θ; later updates add
// λ · Σ Ω (θ − θ*)².
import * as tf from '@tensorflow/tfjs'
import type { Batch } from '../data'
import { ops } from '../model'
import type { MethodOf } from '../training/config'
import type { TrainingContext } from '../training/plugin-api'
import { ImportancePlugin } from './importance'
import { disposeBatch, labelledRows, lossBatchOf, type TensorMap } from './tensors'

export class MasPlugin extends ImportancePlugin {
  readonly name = 'mas'

  constructor(settings: MethodOf<'mas'>, seed: number) {
    super(settings.lambda, settings.samples, seed)
  }

  protected estimate(ctx: TrainingContext, batches: Batch[], domain: string): TensorMap {
    const omega: TensorMap = new Map()
    const model = ctx.model
    batches.forEach((b, i) => {
      const batch = lossBatchOf(ctx, b, this.maskSeed(domain, i))
      const { rows } = labelledRows(batch)
      const outputNorm = (): tf.Scalar => {
        const h = model.encode(batch.inputIds, { training: false, padId: ctx.tokenizer.specialIds.pad })
        const logits = model.headLogits(ops.gatherRows(h, tf.tensor1d(rows, 'int32')))
        return tf.mean(tf.sum(tf.square(logits), 1)) as tf.Scalar
      }
      const grads = ctx.trainer!.gradients(batch, outputNorm)
      disposeBatch(batch)
      this.accumulateMean(omega, grads, tf.abs, batches.length)
    })
    return omega
  }

  protected combine(previous: tf.Tensor, next: tf.Tensor): tf.Tensor {
    return tf.add(previous, next)
  }
}
