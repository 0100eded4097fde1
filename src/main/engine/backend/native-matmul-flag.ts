// Whether the wasm backend's matmuls run on onnxruntime, as a flag with no Node import: the model code reads
// it to choose its fastest path, and the model code is also bundled into the GPU page (a browser), which must
// not pull in native-matmul.ts (node:module, onnxruntime-node). native-matmul.ts sets it.
import * as tf from '@tensorflow/tfjs'

let active = false

/** Whether the wasm backend's matmuls currently run on onnxruntime (ops choose their fastest path by it). */
export function nativeMatmulActive(): boolean {
  return active
}

/** Only native-matmul.ts calls this, when it installs or removes its kernels. */
export function setNativeMatmulActive(on: boolean): void {
  active = on
}

let evaluating = false

/** Whether the current tensor ops compute a validation (see `asEvaluation`). */
export function duringEvaluation(): boolean {
  return evaluating
}

/**
 * Runs f (synchronous tensor ops) as evaluation: on wasm-native, its large small-K products (the tied head) go to
 * wasm's XNNPACK (native-matmul.ts, WasmRouting). Training is left as it was: routed, BERT's reference step was
 * 45 % slower (docs/benchmarks.md, "Small-K products routed to XNNPACK").
 */
export function asEvaluation<T>(f: () => T): T {
  const before = evaluating
  evaluating = true
  try {
    return f()
  } finally {
    evaluating = before
  }
}

/** The tfjs kernel of evaluation's per-row NLL on wasm-native (no gradient: evaluation only); native-matmul.ts registers it. */
export const ROW_NLL_KERNEL = 'ElleRowNll'

/**
 * −log softmax(logits)[row, target] per row [N], computed by onnxruntime over the wasm heap, when the
 * native kernels are installed on the wasm backend; null otherwise (the caller then takes the tfjs path).
 * Targets must lie in [0, V) (onnxruntime rejects others). No gradient: for evaluation.
 */
export function nativeRowNll(logits: tf.Tensor2D, targets: Int32Array): tf.Tensor1D | null {
  if (!active || tf.getBackend() !== 'wasm') return null
  const t = tf.tensor1d(targets, 'int32')
  try {
    return tf.engine().runKernel(ROW_NLL_KERNEL, { logits, targets: t }, {}) as tf.Tensor1D
  } finally {
    t.dispose()
  }
}
