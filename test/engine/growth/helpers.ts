// Shared helpers for the growth tests: non-trivial random weights, logits and their comparison.
import * as tf from '@tensorflow/tfjs'
import { type ModelConfig, type ModelKind, makeModelConfig } from '../../../src/main/engine/model/config'
import { maskTokens } from '../../../src/main/engine/model/masking'
import { type GrowthMasks, type LossBatch, parameterShapes, TransformerModel, type Weights } from '../../../src/main/engine/model/model'
import { Rng } from '../../../src/main/engine/model/rng'
import { Trainer } from '../../../src/main/engine/model/train'

export { logitAgreement } from '../../../src/main/engine/growth/agreement'

export function smallConfig(kind: ModelKind, heads: number, layers = 2): ModelConfig {
  return makeModelConfig(kind, { layers, heads, headSize: 8, vocabSize: 48, maxLength: 12 })
}

/** Weights far from init: non-unit gammas, non-zero betas and biases, kernels large enough for peaked attention. */
export function randomWeights(cfg: ModelConfig, seed: number): Weights {
  const rng = new Rng(seed)
  const out: Weights = {}
  for (const [name, shape] of parameterShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1)
    const data = new Float32Array(n)
    const [mean, std] = name.endsWith('.gamma')
      ? [1, 0.3]
      : name.endsWith('.beta') || name.endsWith('.bias')
        ? [0, 0.1]
        : name.startsWith('embed.')
          ? [0, 0.5]
          : [0, 1 / Math.sqrt(shape[0]!)]
    for (let i = 0; i < n; i++) data[i] = mean + std * rng.normal()
    out[name] = { shape: [...shape], data }
  }
  return out
}

/** Token ids [2, T]: row 0 with a domain prompt (GPT: position 0; BERT: position 1 after CLS), row 1 without. */
export function promptBatch(cfg: ModelConfig, seed = 5): tf.Tensor2D {
  const T = cfg.maxLength
  const rng = new Rng(seed)
  const prompt = cfg.vocabSize - 1
  const body = (): number[] => Array.from({ length: T }, () => 4 + rng.int(cfg.vocabSize - 6))
  const on = body()
  const off = body()
  if (cfg.kind === 'bert') {
    on[0] = 1
    on[1] = prompt
    off[0] = 1
  } else on[0] = prompt
  return tf.tensor2d([...on, ...off], [2, T], 'int32')
}

/** Logits [B*T, V] of a model built from the weights (and masks), as a plain array. */
export function logitsOf(cfg: ModelConfig, weights: Weights, ids: tf.Tensor2D, masks: GrowthMasks | null = null): Float32Array {
  const m = new TransformerModel(cfg)
  try {
    m.setWeights(weights)
    m.setGrowthMasks(masks)
    const l = m.logits(ids)
    const out = l.dataSync() as Float32Array
    l.dispose()
    return out
  } finally {
    m.dispose()
  }
}

/** B sequences of the toy stream: arithmetic cycles with a random step and offset, a little noise. */
export function toyIds(cfg: ModelConfig, B: number, rng: Rng): Int32Array {
  const T = cfg.maxLength
  return Int32Array.from({ length: B * T }, (_, i) => 5 + (((i % T) * (1 + (Math.floor(i / T) % 3)) + Math.floor(i / T) + rng.int(2)) % (cfg.vocabSize - 6)))
}

/**
 * Weights of a small model trained for `steps` updates on a learnable toy stream (shifted cycles),
 * from a perturbed init so LayerNorm parameters and biases are non-trivial: closer to a real
 * checkpoint than random weights, for the KL measurements.
 */
export async function trainedWeights(cfg: ModelConfig, steps: number, seed = 1): Promise<Weights> {
  const model = new TransformerModel(cfg, { seed })
  const init = await model.readWeights()
  const prng = new Rng(seed + 1000)
  for (const [name, w] of Object.entries(init)) {
    if (/(gamma|beta|bias)$/.test(name)) for (let i = 0; i < w.data.length; i++) w.data[i]! += 0.1 * prng.normal()
  }
  model.setWeights(init)
  const trainer = new Trainer(model, { schedule: { peak: 3e-3, warmupSteps: 5, totalSteps: steps } })
  try {
    const T = cfg.maxLength
    const B = 8
    const rng = new Rng(seed)
    for (let s = 0; s < steps; s++) {
      const ids = toyIds(cfg, B, rng)
      const batch: LossBatch = { inputIds: tf.tensor2d(ids, [B, T], 'int32') }
      if (cfg.kind === 'bert') {
        const m = maskTokens(ids, { maskId: 3, vocabSize: cfg.vocabSize, protectedIds: [0, 1, 2, 3], seed: s, seqLen: T, maskProb: 0.2 })
        batch.inputIds.dispose()
        batch.inputIds = tf.tensor2d(m.inputIds, [B, T], 'int32')
        batch.labels = tf.tensor2d(m.labels, [B, T], 'int32')
      }
      await trainer.trainStep([batch])
      tf.dispose([batch.inputIds, ...(batch.labels ? [batch.labels] : [])])
    }
    return await model.readWeights()
  } finally {
    trainer.dispose()
    model.dispose()
  }
}
