// One optimizer update from K micro-batches: accumulate gradients, clip by global norm, AdamW.
import * as tf from '@tensorflow/tfjs'
import type { ForwardOptions, LossBatch, TransformerModel } from './model'
import { isDecayed } from './model'
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
}

/** What a micro-batch's objective returns: the term to differentiate and the LM loss to report. */
export interface ObjectiveTerms {
  objective: tf.Scalar
  /** the plain LM loss of the batch (what `loss` reports, so curves compare across methods) */
  loss: tf.Scalar
}

/** A micro-batch's objective in place of `model.loss` (e.g. distillation); runs inside the gradient tape. */
export type MicroObjective = (batch: LossBatch, opts: ForwardOptions) => ObjectiveTerms

/** Method contributions to one update (docs/baselines.md); all optional. */
export interface StepHooks {
  /** A term added once to the update's objective (EWC, MAS), built inside the same gradient tape. */
  penalty?: () => tf.Scalar
  objective?: MicroObjective
  /** Change the update's gradients (summed over micro-batches, keyed by role) before clipping (A-GEM). */
  transformGradients?: (grads: Map<string, tf.Tensor>) => void | Promise<void>
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
  private readonly roleOf = new Map<string, string>()

  constructor(
    readonly model: TransformerModel,
    private readonly opts: TrainerOptions
  ) {
    this.optimizer = new AdamW(model.params, { decay: isDecayed, ...opts.adam })
    const aux = auxiliaryParamsOf(model)
    this.auxiliaryOptimizer = aux ? new AdamW(aux, { decay: isDecayed, ...opts.adam }) : null
    this.vars = [...model.params.values(), ...(aux?.values() ?? [])]
    for (const [role, v] of [...model.params, ...(aux ?? [])]) this.roleOf.set(v.name, role)
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
    try {
      microBatches.forEach((mb, k) => {
        const opts: ForwardOptions = { training: true, seed: hashSeed(this.opts.seed ?? 0, `step${step}/micro${k}`), padId: this.opts.padId }
        let reported: tf.Scalar | null = null
        const { value, grads } = tf.variableGrads(() => {
          let objective: tf.Scalar
          if (hooks.objective) {
            const terms = hooks.objective(mb, opts)
            reported = tf.keep(terms.loss)
            objective = terms.objective
          } else objective = this.model.loss(mb, opts)
          // The penalty joins the first micro-batch's tape, x K: gradients are averaged over K later.
          if (k === 0 && hooks.penalty) {
            penaltyValue = tf.keep(hooks.penalty())
            objective = tf.add(objective, tf.mul(penaltyValue, K))
          }
          return objective
        }, this.vars)
        if (reported) {
          losses.push(reported)
          value.dispose()
        } else losses.push(value)
        this.accumulate(acc, grads)
      })

      await hooks.transformGradients?.(acc)
      const normT = globalNorm(acc.values())
      const [normValue, lossValues, penaltyValues] = await Promise.all([
        normT.data(),
        Promise.all(losses.map((l) => l.data())),
        (penaltyValue as tf.Scalar | null)?.data() ?? Promise.resolve(null)
      ])
      normT.dispose()
      const gradNorm = normValue[0]! / K
      const clip = this.opts.clipNorm ?? 1
      const scale = (clip > 0 && gradNorm > clip ? clip / gradNorm : 1) / K
      const lr = learningRate(step, this.opts.schedule)
      // each optimizer takes the gradients of its own parameters from the one (jointly clipped) map
      this.optimizer.apply(acc, lr, scale)
      this.auxiliaryOptimizer?.apply(acc, lr, scale)
      const lossSum = lossValues.reduce((a, v) => a + v[0]!, 0)
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
      const role = this.roleOf.get(tfName)!
      const prev = acc.get(role)
      if (prev) {
        acc.set(role, tf.add(prev, g))
        prev.dispose()
        g.dispose()
      } else acc.set(role, g)
    }
  }

  dispose(): void {
    this.optimizer.dispose()
    this.auxiliaryOptimizer?.dispose()
  }
}
