// Maps of kept tensors, their plain-data form, and the labelled positions of a batch: the Node-free part of the
// methods' tensor bookkeeping (tensors.ts re-exports it), which the GPU page bundles (PNN's model, distillation).
import * as tf from '@tensorflow/tfjs'
import { hostLabels, labelledPositions, readTensors, type LossBatch, type TransformerModel, type Weights } from '../model/model'

export type TensorMap = Map<string, tf.Tensor>

/** A kept copy of every parameter of the model, keyed by role. */
export function snapshotParams(model: TransformerModel): TensorMap {
  const out: TensorMap = new Map()
  for (const [role, v] of model.params) out.set(role, tf.keep(v.clone()))
  return out
}

export function disposeMap(map: TensorMap | null): void {
  if (map) for (const t of map.values()) t.dispose()
}

/** The tensors' values, read asynchronously (WebGPU has no synchronous read). */
export async function readMap(map: TensorMap): Promise<Weights> {
  return readTensors(map)
}

export function tensorMap(weights: Weights): TensorMap {
  const out: TensorMap = new Map()
  for (const [name, w] of Object.entries(weights)) out.set(name, tf.keep(tf.tensor(w.data, w.shape, 'float32')))
  return out
}

/** Row indices (into [B*T]) and targets of the labelled positions of a batch. */
export function labelledRows(batch: LossBatch): { rows: Int32Array; targets: Int32Array } {
  const labels = hostLabels(batch)
  if (!labels) throw new Error('the batch has no labels')
  const found = labelledPositions(labels)
  if (found.rows.length === 0) throw new Error('the batch has no labelled positions')
  return found
}
