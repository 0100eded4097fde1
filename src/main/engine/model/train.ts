// One optimizer update from K micro-batches: accumulate gradients, clip by global norm, AdamW.
import * as tf from '@tensorflow/tfjs';
import type { LossBatch, TransformerModel } from './model';
import { isDecayed } from './model';
import { AdamW, type AdamWOptions, type LrSchedule, globalNorm, learningRate } from './optim';
import { hashSeed } from './rng';

export interface TrainerOptions {
  schedule: LrSchedule;
  /** Max global gradient norm (of the micro-batch average); 0 disables clipping. Default 1. */
  clipNorm?: number;
  adam?: AdamWOptions;
  /** Base seed for dropout; each step and micro-batch derives its own. */
  seed?: number;
  padId?: number;
}

export interface StepResult {
  /** Mean of the micro-batch losses. */
  loss: number;
  /** Global norm of the averaged gradient, before clipping. */
  gradNorm: number;
  lr: number;
  /** Updates done so far (after this one). */
  step: number;
}

export class Trainer {
  readonly optimizer: AdamW;
  private readonly vars: tf.Variable[];
  private readonly roleOf = new Map<string, string>();

  constructor(
    readonly model: TransformerModel,
    private readonly opts: TrainerOptions,
  ) {
    this.optimizer = new AdamW(model.params, { decay: isDecayed, ...opts.adam });
    this.vars = [...model.params.values()];
    for (const [role, v] of model.params) this.roleOf.set(v.name, role);
  }

  trainStep(microBatches: LossBatch[]): StepResult {
    const K = microBatches.length;
    if (K === 0) throw new Error('trainStep: no micro-batches');
    const step = this.optimizer.step;
    const acc = new Map<string, tf.Tensor>();
    let lossSum = 0;
    microBatches.forEach((mb, k) => {
      const seed = hashSeed(this.opts.seed ?? 0, `step${step}/micro${k}`);
      const { value, grads } = tf.variableGrads(
        () => this.model.loss(mb, { training: true, seed, padId: this.opts.padId }),
        this.vars,
      );
      lossSum += value.dataSync()[0]!;
      value.dispose();
      for (const [tfName, g] of Object.entries(grads)) {
        const role = this.roleOf.get(tfName)!;
        const prev = acc.get(role);
        if (prev) {
          acc.set(role, tf.add(prev, g));
          prev.dispose();
          g.dispose();
        } else acc.set(role, g);
      }
    });

    const normT = globalNorm(acc.values());
    const gradNorm = normT.dataSync()[0]! / K;
    normT.dispose();
    const clip = this.opts.clipNorm ?? 1;
    const scale = (clip > 0 && gradNorm > clip ? clip / gradNorm : 1) / K;
    const lr = learningRate(step, this.opts.schedule);
    this.optimizer.apply(acc, lr, scale);
    for (const g of acc.values()) g.dispose();
    return { loss: lossSum / K, gradNorm, lr, step: this.optimizer.step };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
