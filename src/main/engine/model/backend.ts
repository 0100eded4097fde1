// The one place that selects and initialises a tfjs backend for the engine's model code (tests, benchmarks).
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm' // registers 'wasm'; in Node it finds its .wasm files itself
import { installNativeMatmul, nativeMatmulActive, uninstallNativeMatmul } from '../backend/native-matmul'

/** 'wasm-native' is the wasm backend with its matmuls on onnxruntime-node (see backend/native-matmul.ts). */
export type BackendName = 'wasm' | 'wasm-native' | 'cpu' | 'tensorflow' | 'webgl'

/**
 * Selects a backend ('tensorflow' needs @tensorflow/tfjs-node imported by the caller). Switching between
 * 'wasm' and 'wasm-native' swaps the wasm matmul kernels, so one process can compare the two.
 */
export async function useBackend(name: BackendName = 'wasm', ortThreads = 1): Promise<void> {
  const tfName = name === 'wasm-native' ? 'wasm' : name
  if (tf.getBackend() !== tfName) {
    const ok = await tf.setBackend(tfName)
    if (!ok) throw new Error(`tfjs backend '${tfName}' could not be initialised`)
    await tf.ready()
  }
  if (name === 'wasm-native') installNativeMatmul(ortThreads)
  else if (name === 'wasm' && nativeMatmulActive()) uninstallNativeMatmul()
}
