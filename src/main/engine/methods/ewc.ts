// Elastic Weight Consolidation (Kirkpatrick et al. 2017) in its online form (Schwarz et al. 2018):
// after each domain, a diagonal empirical Fisher F = E[g²] of the LM loss on the domain's memory;
// F ← γ·F_old + F_new, θ* ← θ; later updates add λ/2 · Σ F (θ − θ*)². The expectation is taken over
// memory micro-batches (squared mini-batch gradients), as LM implementations do; λ absorbs the scale.
import * as tf from '@tensorflow/tfjs'
import type { Batch } from '../data'
import type { MethodOf } from '../training/config'
import type { TrainingContext } from '../training/plugin-api'
import { ImportancePlugin } from './importance'
import { disposeBatch, lossBatchOf, type TensorMap } from './tensors'

export class EwcPlugin extends ImportancePlugin {
  readonly name = 'ewc'

  constructor(
    private readonly settings: MethodOf<'ewc'>,
    seed: number
  ) {
    super(settings.lambda / 2, settings.samples, seed)
  }

  protected estimate(ctx: TrainingContext, batches: Batch[], domain: string): TensorMap {
    const fisher: TensorMap = new Map()
    batches.forEach((b, i) => {
      const batch = lossBatchOf(ctx, b, this.maskSeed(domain, i))
      const grads = ctx.trainer!.gradients(batch)
      disposeBatch(batch)
      this.accumulateMean(fisher, grads, tf.square, batches.length)
    })
    return fisher
  }

  protected combine(previous: tf.Tensor, next: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(previous, this.settings.gamma), next)
  }
}
