// Averaged Gradient Episodic Memory (Chaudhry et al. 2019): every update computes a reference gradient
// g_ref on memory batches of the earlier domains; when the update's gradient g points against it
// (g·g_ref < 0) it is projected onto the half-space where it does not: g ← g − (g·g_ref / ‖g_ref‖²) g_ref.
// The projection runs on the summed gradient of the update (penalties included) before clipping.
import * as tf from '@tensorflow/tfjs'
import { unitHash } from '../data'
import { ops } from '../model'
import { hashSeed } from '../model/rng'
import type { MethodOf } from '../training/config'
import type { TrainingContext, TrainingPlugin } from '../training/plugin-api'
import { ReplayPlugin } from './replay'
import { disposeBatch, lossBatchOf } from './tensors'

export interface AgemStats {
  updates: number
  projected: number
  /** g·g_ref of the last update before and after the projection (equal when none was needed) */
  lastDot: number
  lastDotAfter: number
  /** the smallest g·g_ref / ‖g_ref‖² after projection over the run (never below 0, up to rounding) */
  minDotAfter: number
}

/** Σ_p sum(a_p · b_p), read asynchronously (no synchronous read on WebGPU; at most 7 tensors per addN there). */
async function dot(a: Map<string, tf.Tensor>, b: Map<string, tf.Tensor>): Promise<number> {
  const t = tf.tidy(() => ops.addMany([...a].map(([role, x]) => tf.sum(tf.mul(x, b.get(role)!)))))
  try {
    return (await t.data())[0]!
  } finally {
    t.dispose()
  }
}

export class AgemPlugin implements TrainingPlugin {
  readonly name = 'agem'
  readonly stats: AgemStats = { updates: 0, projected: 0, lastDot: 0, lastDotAfter: 0, minDotAfter: Infinity }

  constructor(
    private readonly settings: MethodOf<'agem'>,
    private readonly seed: number
  ) {}

  async transformGradients(ctx: TrainingContext, grads: Map<string, tf.Tensor>): Promise<void> {
    const stage = ctx.stages[ctx.state.stageIndex]
    const sources = stage ? ReplayPlugin.sources(ctx, stage) : []
    if (sources.length === 0) return
    const ref = this.referenceGradient(ctx, sources)
    try {
      const g = await dot(grads, ref)
      this.stats.updates += 1
      this.stats.lastDot = g
      this.stats.lastDotAfter = g
      const refNorm = await dot(ref, ref)
      if (g >= 0 || refNorm === 0) {
        if (refNorm > 0) this.stats.minDotAfter = Math.min(this.stats.minDotAfter, g / refNorm)
        return
      }
      const k = g / refNorm
      for (const [role, t] of grads) {
        grads.set(
          role,
          tf.tidy(() => tf.sub(t, tf.mul(ref.get(role)!, k)))
        )
        t.dispose()
      }
      this.stats.projected += 1
      this.stats.lastDotAfter = await dot(grads, ref)
      this.stats.minDotAfter = Math.min(this.stats.minDotAfter, this.stats.lastDotAfter / refNorm)
    } finally {
      for (const t of ref.values()) t.dispose()
    }
  }

  /** The gradient summed over `refBatches` memory micro-batches, each from an earlier domain drawn uniformly. */
  private referenceGradient(ctx: TrainingContext, sources: readonly string[]): Map<string, tf.Tensor> {
    const step = ctx.state.globalStep
    const n = this.settings.refBatches
    let sum: Map<string, tf.Tensor> | null = null
    for (let r = 0; r < n; r++) {
      const domain = sources[Math.min(sources.length - 1, Math.floor(unitHash(`agem-domain/${step}/${r}`, this.seed) * sources.length))]!
      const memoryBatch = ctx.nextMemoryBatch(domain)
      const batch = lossBatchOf(ctx, memoryBatch, hashSeed(this.seed, `agem-mask/${step}/${r}`))
      const grads = ctx.trainer!.gradients(batch)
      disposeBatch(batch)
      ctx.chargeCompute(memoryBatch.batchSize * memoryBatch.seqLen * ctx.flopsPerToken)
      if (!sum) sum = grads
      else {
        for (const [role, g] of grads) {
          const prev = sum.get(role)!
          sum.set(role, tf.add(prev, g))
          prev.dispose()
          g.dispose()
        }
      }
    }
    // a sum, not a mean: the projection is invariant to the scale of g_ref
    return sum!
  }
}
