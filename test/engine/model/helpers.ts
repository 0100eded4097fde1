// Shared test helpers: backend selection (one place) and tiny configs.
import * as tf from '@tensorflow/tfjs'
import { type BackendName, useBackend } from '../../../src/main/engine/model/backend'
import { type ModelConfig, type ModelKind, makeModelConfig } from '../../../src/main/engine/model/config'

export async function backend(name: BackendName): Promise<void> {
  await useBackend(name)
}

export function tinyConfig(kind: ModelKind, over: Partial<ModelConfig> = {}): ModelConfig {
  return { ...makeModelConfig(kind, { layers: 2, heads: 2, headSize: 16, vocabSize: 64, maxLength: 16 }), ...over }
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)
}

export function ids2d(data: number[] | Int32Array, rows: number): tf.Tensor2D {
  return tf.tensor2d(Int32Array.from(data), [rows, data.length / rows], 'int32')
}
