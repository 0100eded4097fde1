// One optimizer update from K micro-batches: accumulate gradients, clip by global norm, AdamW.
import * as tf from '@tensorflow/tfjs'
import type { ForwardOptions, LossBatch, TransformerModel } from './model'
import { IGNORE_INDEX, isDecayed } from './model'
import { AdamW, type AdamWOptions, type LrSchedule, globalNorm, learningRate } from './optim'
import { hashSeed } from './rng'

export interface TrainerOptions {
  schedule: LrSchedule
  /** Max global gradient norm (of the micro-batch average); 0 disables clipping. Default 1. */
  clipNorm?: number
  adam?: AdamWOptions
  /** Base seed for dropout; each step and micro-batch derives its own. */
  seed?: number
  padId?: number
  /** Replicas that compute gradients on shards of each micro-batch (data-parallel training); absent: this thread alone. */
  shards?: ShardedGradients | null
  /** Where each update's time goes (`bench:train --phases`); absent: not timed. */
  phases?: StepPhases | null
}

/** Wall milliseconds of the parts of an update, added up per part name across updates. */
export interface StepPhases {
  add(part: StepPart, ms: number): void
}

/** The parts of an update, in the order they run (sharded parts only with replicas). */
export type StepPart =
  | 'sync weights to replicas'
  | 'split + post shards'
  | 'forward + backward (own shard)'
  | 'barrier wait for replicas'
  | 'sum replica gradients'
  | 'transform gradients'
  | 'global norm + reads'
  | 'clip + AdamW'

/** Rows of a micro-batch for one replica, with its share of the micro-batch's targets. */
export interface GradientShard {
  shape: [number, number]
  inputIds: Int32Array
  labels: Int32Array
  /** this shard's labelled positions / the micro-batch's: the mean losses of the shards, so weighted, add up to the micro-batch's mean */
  weight: number
}

/** What a replica returns for its shard: weight x loss, and the gradients of weight x loss by role (only the roles the loss reached). */
export interface ShardResult {
  loss: number
  grads: Map<string, Float32Array>
}

/**
 * Replicas of the model in other threads (training/parallel.ts). Each update the trainer gives them the
 * model's weights once, then splits every micro-batch by rows: shard 0 here, shard i+1 on replica i; the
 * shards' gradients, weighted by their target counts, add up to the micro-batch's gradient. A replica
 * rebuilds the model from its blueprint (PNN: with its frozen columns) and, for a distillation objective,
 * holds the teacher too.
 */
export interface ShardedGradients {
  /** threads computing shards besides this one */
  readonly replicas: number
  /**
   * The replica takes every micro-batch whole and this thread computes no shard (the GPU page, which has one
   * replica: training/gpu-page-gradients.ts); absent or false: each micro-batch is split by rows, shard 0 here.
   */
  readonly wholeMicroBatches?: boolean
  /** Give the replicas the model's current trained weights (and growth masks), and the objective's teacher when it changed; once per update, before `compute`. */
  sync(model: TransformerModel, teacher?: TransformerModel | null): Promise<void>
  /** Replica i computes shards[i] (null: nothing for it) with the LM loss or `objective`; the result arrays stay valid until the next call. */
  compute(shards: Array<GradientShard | null>, opts: ForwardOptions, objective?: ReplicaObjectiveSettings | null): Promise<Array<ShardResult | null>>
}

/** The settings of a micro-batch objective a replica computes itself (its teacher is synced separately). */
export interface ReplicaObjectiveSettings {
  kind: 'distill'
  alpha: number
  temperature: number
}

/** How replicas compute a micro-batch objective on their shards: its settings and the frozen model it reads. */
export interface ReplicaObjective extends ReplicaObjectiveSettings {
  teacher: TransformerModel
}

/** The variables an update trains, keyed by role: the model's parameters and its auxiliary ones (PNN's laterals). */
export function trainedVariables(model: TransformerModel): Map<string, tf.Variable> {
  const aux = auxiliaryParamsOf(model)
  return aux ? new Map([...model.params, ...aux]) : model.params
}

/** Splits a micro-batch into at most n shards of consecutive rows, each with at least one target; null when it cannot be split. */
export function splitBatch(batch: LossBatch, n: number): GradientShard[] | null {
  const host = batch.host
  if (!host?.labels || n < 2) return null
  const [B, T] = batch.inputIds.shape
  const parts = Math.min(n, B)
  const shards: GradientShard[] = []
  let total = 0
  for (let i = 0, start = 0; i < parts; i++) {
    const rows = Math.floor(B / parts) + (i < B % parts ? 1 : 0)
    const labels = host.labels.subarray(start * T, (start + rows) * T)
    let count = 0
    for (let j = 0; j < labels.length; j++) if (labels[j] !== IGNORE_INDEX) count++
    total += count
    shards.push({ shape: [rows, T], inputIds: host.inputIds.subarray(start * T, (start + rows) * T), labels, weight: count })
    start += rows
  }
  if (total === 0) return null
  const kept = shards.filter((s) => s.weight > 0)
  for (const s of kept) s.weight /= total
  return kept.length > 1 ? kept : null
}

/** A micro-batch as one shard of weight 1, for a replica that computes it whole (ShardedGradients.wholeMicroBatches). */
export function wholeShard(batch: LossBatch): GradientShard {
  const host = batch.host
  if (!host?.labels) throw new Error('a micro-batch for a replica needs its ids and labels as arrays (LossBatch.host)')
  return { shape: [batch.inputIds.shape[0], batch.inputIds.shape[1]], inputIds: host.inputIds, labels: host.labels, weight: 1 }
}

/** What a micro-batch's objective returns: the term to differentiate and the LM loss to report. */
export interface ObjectiveTerms {
  objective: tf.Scalar
  /** the plain LM loss of the batch (what `loss` reports, so curves compare across methods) */
  loss: tf.Scalar
}

/** A micro-batch's objective in place of `model.loss` (e.g. distillation); runs inside the gradient tape. */
export interface MicroObjective {
  (batch: LossBatch, opts: ForwardOptions): ObjectiveTerms
  /** How replicas compute it on their shards (data-parallel training); absent: an update with it runs in this thread alone. */
  readonly replica?: ReplicaObjective
  /** Charges the objective's extra compute for a micro-batch of this shape; the trainer calls it once per micro-batch, wherever its rows are computed. */
  readonly charge?: (shape: [number, number]) => void
}

/** Method contributions to one update (docs/baselines.md); all optional. */
export interface StepHooks {
  /** A term added once to the update's objective (EWC, MAS), built inside the same gradient tape. */
  penalty?: () => tf.Scalar
  objective?: MicroObjective
  /** Change the update's gradients (summed over micro-batches, keyed by role) before clipping (A-GEM). */
  transformGradients?: (grads: Map<string, tf.Tensor>) => void | Promise<void>
  /** This update's learning rate, when the caller owns the schedule (the GPU page: its host sends each step's rate); absent: the trainer's schedule. */
  lr?: number
  /** This update's base dropout seed, in place of the trainer's (the GPU page: its host sends each step's); micro-batches derive theirs from it as usual. */
  seed?: number
}

/**
 * A model that trains parameters beyond its checkpointed `params` (PNN's lateral adapters). They get an
 * AdamW of their own, so `Trainer.optimizer` (what checkpoints hold) keeps exactly the model's roles.
 */
export interface AuxiliaryParams {
  readonly auxiliaryParams: Map<string, tf.Variable>
}

function auxiliaryParamsOf(model: TransformerModel): Map<string, tf.Variable> | null {
  const aux = (model as Partial<AuxiliaryParams>).auxiliaryParams
  return aux && aux.size > 0 ? aux : null
}

export interface StepResult {
  /** Mean of the micro-batch losses. */
  loss: number
  /** Value of the penalty term (0 without one). */
  penalty: number
  /** Global norm of the averaged gradient, before clipping. */
  gradNorm: number
  lr: number
  /** Updates done so far in this phase's schedule (after this one). */
  step: number
}

export class Trainer {
  readonly optimizer: AdamW
  /** the optimizer of the model's auxiliary parameters, if it has any */
  readonly auxiliaryOptimizer: AdamW | null
  private readonly vars: tf.Variable[]
  /** every variable an update trains, by role (the model's and its auxiliary ones) */
  private readonly trained: Map<string, tf.Variable>
  private readonly roleOf = new Map<string, string>()

  constructor(
    readonly model: TransformerModel,
    private readonly opts: TrainerOptions
  ) {
    this.optimizer = new AdamW(model.params, { decay: isDecayed, ...opts.adam })
    const aux = auxiliaryParamsOf(model)
    this.auxiliaryOptimizer = aux ? new AdamW(aux, { decay: isDecayed, ...opts.adam }) : null
    this.trained = trainedVariables(model)
    this.vars = [...this.trained.values()]
    for (const [role, v] of this.trained) this.roleOf.set(v.name, role)
  }

  /**
   * One update. Async: the losses and the gradient norm are read back with `data()`, never `dataSync()`
   * (WebGPU has no synchronous read); the norm is the one read the update waits for (clipping needs it).
   */
  async trainStep(microBatches: LossBatch[], hooks: StepHooks = {}): Promise<StepResult> {
    const K = microBatches.length
    if (K === 0) throw new Error('trainStep: no micro-batches')
    // The schedule's own counter: with a carried (grown) optimizer, `optimizer.step` keeps counting across
    // phases for Adam's bias correction, while each phase's schedule starts again at 0.
    const step = this.optimizer.scheduleStep
    const acc = new Map<string, tf.Tensor>()
    const losses: tf.Scalar[] = []
    let penaltyValue: tf.Scalar | null = null
    let replicaLoss = 0
    // a micro-batch objective (distillation) is shared only when the replicas can compute it (they then hold its teacher)
    const objective = hooks.objective ?? null
    const replicaObjective = objective ? (objective.replica ?? null) : null
    const shards = this.opts.shards && this.opts.shards.replicas > 0 && (!objective || replicaObjective) ? this.opts.shards : null
    const settings = replicaObjective ? { kind: replicaObjective.kind, alpha: replicaObjective.alpha, temperature: replicaObjective.temperature } : null
    // the replica computes each micro-batch whole, and this thread only the penalty and the update
    const whole = shards?.wholeMicroBatches === true
    // wall time per part (bench:train --phases); wasm and cpu kernels run synchronously, so laps are the parts' own time
    const phases = this.opts.phases ?? null
    let mark = phases ? performance.now() : 0
    const lap = (part: StepPart): void => {
      if (!phases) return
      const now = performance.now()
      phases.add(part, now - mark)
      mark = now
    }
    try {
      if (shards) {
        await shards.sync(this.model, replicaObjective?.teacher ?? null)
        lap('sync weights to replicas')
      }
      for (let k = 0; k < K; k++) {
        const mb = microBatches[k]!
        const opts: ForwardOptions = { training: true, seed: hashSeed(hooks.seed ?? this.opts.seed ?? 0, `step${step}/micro${k}`), padId: this.opts.padId }
        objective?.charge?.(mb.inputIds.shape)
        if (whole && shards) {
          const pending = shards.compute([wholeShard(mb)], opts, settings)
          // a failure of the penalty's tape must not leave the replica's answer unhandled
          pending.catch(() => undefined)
          lap('split + post shards')
          if (k === 0 && hooks.penalty) {
            // the penalty's gradient, x K as in the first micro-batch's tape (gradients are linear in the terms); its
            // value joins the losses as it does there, so the reported loss is the same
            const { value, grads } = tf.variableGrads(() => {
              penaltyValue = tf.keep(hooks.penalty!())
              return tf.mul(penaltyValue, K) as tf.Scalar
            }, this.vars)
            losses.push(value)
            this.accumulate(acc, grads)
            lap('forward + backward (own shard)')
          }
          const [result] = await pending
          lap('barrier wait for replicas')
          if (!result) throw new Error('the replica computed nothing for a whole micro-batch')
          replicaLoss += result.loss
          this.accumulateHost(acc, result.grads)
          lap('sum replica gradients')
          continue
        }
        const split = shards ? splitBatch(mb, shards.replicas + 1) : null
        // shard 0 here, the others on the replicas (started first, so they work while this thread does)
        const pending = split && shards ? shards.compute(split.slice(1), opts, settings) : null
        // a failure here must not leave the replicas' answer unhandled
        pending?.catch(() => undefined)
        const own = split ? split[0]! : null
        const ownBatch: LossBatch | null = own
          ? {
              inputIds: tf.tensor2d(own.inputIds, own.shape, 'int32'),
              labels: tf.tensor2d(own.labels, own.shape, 'int32'),
              host: { inputIds: own.inputIds, labels: own.labels }
            }
          : null
        lap('split + post shards')
        // this thread's rows, and the share of the micro-batch's targets they hold (1 unshared)
        const batch = ownBatch ?? mb
        const weight = own ? own.weight : 1
        const weighted = (x: tf.Scalar): tf.Scalar => (own ? tf.mul(x, weight) : x)
        let reported: tf.Scalar | null = null
        try {
          const { value, grads } = tf.variableGrads(() => {
            let term: tf.Scalar
            if (objective) {
              const terms = objective(batch, opts)
              reported = tf.keep(weighted(terms.loss))
              term = weighted(terms.objective)
            } else term = weighted(this.model.loss(batch, opts))
            // The penalty joins the first micro-batch's tape, x K: gradients are averaged over K later.
            if (k === 0 && hooks.penalty) {
              penaltyValue = tf.keep(hooks.penalty())
              term = tf.add(term, tf.mul(penaltyValue, K))
            }
            return term
          }, this.vars)
          if (reported) {
            losses.push(reported)
            value.dispose()
          } else losses.push(value)
          this.accumulate(acc, grads)
        } finally {
          if (ownBatch) tf.dispose([ownBatch.inputIds, ownBatch.labels!])
        }
        lap('forward + backward (own shard)')
        if (pending) {
          const results = await pending
          lap('barrier wait for replicas')
          // added in replica order, so every run sums the shards the same way
          for (const result of results) {
            if (!result) continue
            replicaLoss += result.loss
            this.accumulateHost(acc, result.grads)
          }
          lap('sum replica gradients')
        }
      }

      if (hooks.transformGradients) {
        await hooks.transformGradients(acc)
        lap('transform gradients')
      }
      const normT = globalNorm(acc.values())
      const [normValue, lossValues, penaltyValues] = await Promise.all([
        normT.data(),
        Promise.all(losses.map((l) => l.data())),
        (penaltyValue as tf.Scalar | null)?.data() ?? Promise.resolve(null)
      ])
      normT.dispose()
      lap('global norm + reads')
      const gradNorm = normValue[0]! / K
      const clip = this.opts.clipNorm ?? 1
      const scale = (clip > 0 && gradNorm > clip ? clip / gradNorm : 1) / K
      const lr = hooks.lr ?? learningRate(step, this.opts.schedule)
      // each optimizer takes the gradients of its own parameters from the one (jointly clipped) map
      this.optimizer.apply(acc, lr, scale)
      this.auxiliaryOptimizer?.apply(acc, lr, scale)
      lap('clip + AdamW')
      const lossSum = lossValues.reduce((a, v) => a + v[0]!, replicaLoss)
      return { loss: lossSum / K, penalty: penaltyValues ? penaltyValues[0]! : 0, gradNorm, lr, step: this.optimizer.scheduleStep }
    } finally {
      tf.dispose([...losses, ...acc.values(), ...(penaltyValue ? [penaltyValue] : [])])
    }
  }

  /** Gradients of the model's loss on one batch, keyed by role; no update (A-GEM's reference, Fisher, MAS). */
  gradients(batch: LossBatch, loss?: () => tf.Scalar): Map<string, tf.Tensor> {
    const { value, grads } = tf.variableGrads(loss ?? (() => this.model.loss(batch, { training: false, padId: this.opts.padId })), this.vars)
    value.dispose()
    const out = new Map<string, tf.Tensor>()
    this.accumulate(out, grads)
    return out
  }

  private accumulate(acc: Map<string, tf.Tensor>, grads: tf.NamedTensorMap): void {
    for (const [tfName, g] of Object.entries(grads)) {
      addInto(acc, this.roleOf.get(tfName)!, g)
    }
  }

  /** Adds a replica's gradients (host arrays keyed by role) to the update's. */
  private accumulateHost(acc: Map<string, tf.Tensor>, grads: Map<string, Float32Array>): void {
    // the cpu backend keeps the array it is given: copy, since the replica overwrites it next time
    const copy = tf.getBackend() === 'cpu'
    for (const [role, data] of grads) {
      const v = this.trained.get(role)
      if (!v) throw new Error(`a replica returned a gradient for ${role}, which this model does not have`)
      addInto(acc, role, tf.tensor(copy ? data.slice() : data, v.shape, 'float32'))
    }
  }

  dispose(): void {
    this.optimizer.dispose()
    this.auxiliaryOptimizer?.dispose()
  }
}

/** acc[role] += g, taking ownership of g (kept as is when the role has no gradient yet). */
function addInto(acc: Map<string, tf.Tensor>, role: string, g: tf.Tensor): void {
  const prev = acc.get(role)
  if (!prev) {
    acc.set(role, g)
    return
  }
  acc.set(role, tf.add(prev, g))
  prev.dispose()
  g.dispose()
}
