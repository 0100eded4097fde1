// Quadratic-penalty methods (EWC, MAS): after each finished domain, estimate a per-parameter importance
// on that domain's memory, fold it into the running importance, and anchor θ* at the current weights.
// Later updates add coefficient · Σ_p importance_p (θ_p − θ*_p)² to the objective, inside the same
// gradient tape as the LM loss, so the loop's one update rule (clip, AdamW) applies to both.
import * as tf from '@tensorflow/tfjs'
import type { Batch } from '../data'
import { hashSeed } from '../model/rng'
import type { Weights } from '../model'
import type { StagePlan, StateTensorReader, StateTensorWriter, TrainingContext, TrainingPlugin } from '../training/plugin-api'
import { StoredTensorsSchema } from '../training/plugin-state'
import { z } from 'zod'
import { disposeMap, readMap, snapshotParams, tensorMap, weightedDistance, type TensorMap } from './tensors'

/** null: no domain has finished yet */
const ImportanceState = z.object({ importance: StoredTensorsSchema, anchor: StoredTensorsSchema }).strict().nullable()

export abstract class ImportancePlugin implements TrainingPlugin {
  abstract readonly name: string
  protected importance: TensorMap | null = null
  protected anchor: TensorMap | null = null
  /** the state as the run ended (a cancelled run's checkpoint is written after afterRun freed the tensors) */
  private settled: { importance: Weights; anchor: Weights } | null = null
  /** importance estimates made so far (one per finished domain) */
  estimates = 0

  constructor(
    /** multiplies Σ importance · (θ − θ*)² (EWC: λ/2, MAS: λ) */
    private readonly coefficient: number,
    /** memory micro-batches per estimate */
    private readonly samples: number,
    protected readonly seed: number
  ) {}

  /** This domain's importance, one tensor per parameter role (kept; the caller owns them). */
  protected abstract estimate(ctx: TrainingContext, batches: Batch[], domain: string): TensorMap
  /** The running importance after a new domain (both inputs are disposed by the caller). */
  protected abstract combine(previous: tf.Tensor, next: tf.Tensor): tf.Tensor

  afterStage(ctx: TrainingContext, stage: StagePlan): void {
    // Only a finished training phase with a later one ahead needs an estimate.
    if (stage.kind !== 'train' || ctx.state.stageIndex >= ctx.stages.length) return
    const started = performance.now()
    const batches = this.memoryBatches(ctx, stage.domain)
    const next = this.estimate(ctx, batches, stage.domain)
    // one forward and backward per sample batch, between updates: charged to the run's compute
    const tokens = batches.reduce((n, b) => n + b.batchSize * b.seqLen, 0)
    ctx.chargeCompute(tokens * ctx.flopsPerToken, (performance.now() - started) / 1000)
    if (this.importance) {
      for (const [role, t] of next) {
        const prev = this.importance.get(role)
        if (prev)
          next.set(
            role,
            tf.tidy(() => tf.keep(this.combine(prev, t)))
          )
        if (prev) t.dispose()
      }
      disposeMap(this.importance)
    }
    this.importance = next
    disposeMap(this.anchor)
    this.anchor = snapshotParams(ctx.model)
    this.estimates += 1
  }

  /** The first `samples` batches of the domain's memory, read without moving the replay position. */
  private memoryBatches(ctx: TrainingContext, domain: string): Batch[] {
    const memory = ctx.memory(domain)
    const out: Batch[] = []
    let state = { epoch: 0, position: 0 }
    for (let i = 0; i < this.samples; i++) {
      const next = memory.next(ctx.config.training.batchSize, state)
      out.push(next.batch)
      state = next.state
    }
    return out
  }

  /** Add `transform(g) / count` for every gradient of one batch to the running mean in `into` (gradients are disposed). */
  protected accumulateMean(into: TensorMap, grads: Map<string, tf.Tensor>, transform: (g: tf.Tensor) => tf.Tensor, count: number): void {
    for (const [role, g] of grads) {
      const prev = into.get(role)
      into.set(
        role,
        tf.tidy(() => (prev ? tf.add(prev, tf.div(transform(g), count)) : tf.div(transform(g), count)))
      )
      prev?.dispose()
      g.dispose()
    }
  }

  protected maskSeed(domain: string, i: number): number {
    return hashSeed(this.seed, `${this.name}/${domain}/${i}`)
  }

  lossPenalty(ctx: TrainingContext): (() => tf.Scalar) | null {
    const { importance, anchor } = this
    if (!importance || !anchor || this.coefficient === 0) return null
    return () => tf.mul(weightedDistance(ctx.model, importance, anchor), this.coefficient) as tf.Scalar
  }

  /** The current penalty, outside any tape (tests and logs). */
  penaltyNow(ctx: TrainingContext): number {
    const f = this.lossPenalty(ctx)
    if (!f) return 0
    const t = tf.tidy(f)
    const value = t.dataSync()[0]!
    t.dispose()
    return value
  }

  readonly stateSchema = ImportanceState

  async saveState(tensors: StateTensorWriter): Promise<z.infer<typeof ImportanceState>> {
    const now = this.importance && this.anchor ? { importance: await readMap(this.importance), anchor: await readMap(this.anchor) } : this.settled
    return now ? { importance: tensors.put('importance', now.importance), anchor: tensors.put('anchor', now.anchor) } : null
  }

  loadState(state: z.infer<typeof ImportanceState>, tensors: StateTensorReader): void {
    this.dispose()
    this.settled = null
    if (state === null) return
    this.importance = tensorMap(tensors.read(state.importance))
    this.anchor = tensorMap(tensors.read(state.anchor))
  }

  async afterRun(): Promise<void> {
    // the tensors are freed now, and a cancelled run's checkpoint is written after this (data() returns copies)
    this.settled = this.importance && this.anchor ? { importance: await readMap(this.importance), anchor: await readMap(this.anchor) } : this.settled
    this.dispose()
  }

  dispose(): void {
    disposeMap(this.importance)
    disposeMap(this.anchor)
    this.importance = null
    this.anchor = null
  }
}
