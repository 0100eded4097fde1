// AdamW over named tf.Variables, a warm-up + linear-decay schedule and global-norm clipping.
import * as tf from '@tensorflow/tfjs'
import { readTensors, type Weights } from './model'
import { addMany } from './ops'

export interface LrSchedule {
  peak: number
  warmupSteps: number
  /** Step at which the rate reaches `end` (and stays there). */
  totalSteps: number
  end?: number
}

/** Learning rate for update number `step` (0-based): linear warm-up to peak, then linear decay. */
export function learningRate(step: number, s: LrSchedule): number {
  const end = s.end ?? 0
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps
  if (step >= s.totalSteps) return end
  const frac = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps)
  return s.peak + (end - s.peak) * frac
}

export interface AdamWOptions {
  beta1?: number
  beta2?: number
  eps?: number
  weightDecay?: number
  /** Names that get weight decay (default: all). */
  decay?: (name: string) => boolean
}

export interface AdamWState {
  /** updates the moments have seen (Adam's bias correction); carried across phases when the optimizer grows */
  step: number
  /**
   * updates taken in the current phase's learning-rate schedule (restarts at 0 each phase). Absent in
   * checkpoints written before the two counters were separated: the loop then uses its step in the stage.
   */
  scheduleStep?: number
  m: Weights
  v: Weights
}

let optCounter = 0

/** Adam with decoupled weight decay; moments are variables keyed by the parameter's role name. */
export class AdamW {
  readonly m = new Map<string, tf.Variable>()
  readonly v = new Map<string, tf.Variable>()
  /** Number of updates applied to the moments so far (bias correction); grows across phases with optimizer 'grow'. */
  step = 0
  /** Updates taken in the current phase's schedule; the learning rate is read at this index, never at `step`. */
  scheduleStep = 0
  private readonly beta1: number
  private readonly beta2: number
  private readonly eps: number
  private readonly weightDecay: number
  private readonly decay: (name: string) => boolean
  private readonly prefix = `adamw${optCounter++}/`

  constructor(
    private readonly params: Map<string, tf.Variable>,
    opts: AdamWOptions = {}
  ) {
    this.beta1 = opts.beta1 ?? 0.9
    this.beta2 = opts.beta2 ?? 0.98
    this.eps = opts.eps ?? 1e-6
    this.weightDecay = opts.weightDecay ?? 0.01
    this.decay = opts.decay ?? (() => true)
    for (const [name, p] of params) {
      // tidy: the zerosLike handles would otherwise outlive the variables made from them (a leak per AdamW).
      tf.tidy(() => {
        this.m.set(name, tf.variable(tf.zerosLike(p), false, `${this.prefix}m/${name}`))
        this.v.set(name, tf.variable(tf.zerosLike(p), false, `${this.prefix}v/${name}`))
      })
    }
  }

  /** One update with learning rate `lr` from gradients keyed by parameter name, each scaled by `gradScale`. */
  apply(grads: Map<string, tf.Tensor>, lr: number, gradScale = 1): void {
    this.step++
    this.scheduleStep++
    const t = this.step
    const bc1 = 1 - this.beta1 ** t
    const bc2 = 1 - this.beta2 ** t
    for (const [name, p] of this.params) {
      const grad = grads.get(name)
      if (!grad) continue
      const m = this.m.get(name)!
      const v = this.v.get(name)!
      tf.tidy(() => {
        const g = gradScale !== 1 ? tf.mul(grad, gradScale) : grad
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1))
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2))
        const upd = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), this.eps))
        const wd = this.decay(name) ? this.weightDecay : 0
        // Decoupled decay: p <- p - lr * (update + wd * p)
        const base = wd > 0 ? tf.mul(p, 1 - lr * wd) : p
        p.assign(tf.sub(base, tf.mul(upd, lr)))
        m.assign(m1)
        v.assign(v1)
      })
    }
  }

  /** The moments and step count, read asynchronously (WebGPU has no synchronous read). */
  async readState(): Promise<AdamWState> {
    const step = this.step
    const scheduleStep = this.scheduleStep
    const [m, v] = await Promise.all([readTensors(this.m), readTensors(this.v)])
    return { step, scheduleStep, m, v }
  }

  /**
   * Restores moments and both counters; names and shapes must match the parameters. A state without a
   * schedule step (an older checkpoint) restarts the schedule at 0 unless the caller sets `scheduleStep`.
   */
  setState(state: AdamWState): void {
    for (const [which, vars] of [
      ['m', this.m],
      ['v', this.v]
    ] as const) {
      const src = state[which]
      for (const [name, x] of vars) {
        const w = src[name]
        if (!w) throw new Error(`AdamW.setState: ${which} has no entry for ${name}`)
        if (w.shape.join() !== x.shape.join() || w.data.length !== x.size) {
          throw new Error(`AdamW.setState: ${which}.${name} has shape [${w.shape}], expected [${x.shape}]`)
        }
      }
      const unknown = Object.keys(src).filter((n) => !vars.has(n))
      if (unknown.length) throw new Error(`AdamW.setState: unknown ${which} entries [${unknown.join(', ')}]`)
    }
    for (const [which, vars] of [
      ['m', this.m],
      ['v', this.v]
    ] as const) {
      for (const [name, x] of vars) tf.tidy(() => x.assign(tf.tensor(state[which][name]!.data, x.shape, 'float32')))
    }
    this.step = state.step
    this.scheduleStep = state.scheduleStep ?? 0
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose()
    this.m.clear()
    this.v.clear()
  }
}

/** Global L2 norm of a set of gradients (a scalar tensor). */
export function globalNorm(grads: Iterable<tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const sq = [...grads].map((g) => tf.sum(tf.square(g)))
    // at most 7 per addN: a larger addN gives a wrong sum on WebGPU (its storage-buffer limit)
    return tf.sqrt(addMany(sq)) as tf.Scalar
  })
}
