// Elastic Weight Consolidation (Kirkpatrick et al. 2017) in its online form (Schwarz et al. 2018):
// after each domain, a diagonal empirical Fisher F = E[g²] of the LM loss on the domain's memory;
// F ← γ·F_old + F_new, θ* ← θ; later updates add λ/2 · Σ F (θ − θ*)².
// The expectation is over sequences by default: g is the gradient of one sequence's mean token loss, so F is
// the mean of per-sequence squared gradients. The squared gradient of a B-sequence mini-batch is about B
// times smaller on the diagonal (the cross terms of independent sequences cancel), which is what `fisher: "batch"`
// keeps, for comparison with LM implementations that estimate it that way; λ must then be about B times larger.
import * as tf from '@tensorflow/tfjs'
import type { Batch } from '../data'
import type { MethodOf } from '../training/config'
import type { TrainingContext } from '../training/plugin-api'
import { ImportancePlugin } from './importance'
import { IGNORE_INDEX } from '../model'
import { toLossBatch } from '../training/evaluate'
import { disposeBatch, lossBatchOf, lossInputOf, rowsOf, type TensorMap } from './tensors'

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
    if (this.settings.fisher === 'batch') {
      batches.forEach((b, i) => {
        const batch = lossBatchOf(ctx, b, this.maskSeed(domain, i))
        const grads = ctx.trainer!.gradients(batch)
        disposeBatch(batch)
        this.accumulateMean(fisher, grads, tf.square, batches.length)
      })
      return fisher
    }
    // one gradient per sequence; a sequence with no target token (a padding row) has no gradient to count
    const inputs = batches.flatMap(rowsOf).map((row, i) => lossInputOf(ctx, row, this.maskSeed(domain, i)))
    const scored = inputs.filter((input) => input.labels.some((l) => l !== IGNORE_INDEX))
    for (const input of scored) {
      const batch = toLossBatch(input)
      const grads = ctx.trainer!.gradients(batch)
      disposeBatch(batch)
      this.accumulateMean(fisher, grads, tf.square, scored.length)
    }
    return fisher
  }

  protected combine(previous: tf.Tensor, next: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(previous, this.settings.gamma), next)
  }
}
