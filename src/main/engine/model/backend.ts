// The one place that selects and initialises a tfjs backend for the engine.
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm' // registers 'wasm'; in Node it finds its .wasm files itself

export type BackendName = 'wasm' | 'cpu' | 'tensorflow' | 'webgl'

/** Selects a backend ('tensorflow' needs @tensorflow/tfjs-node imported by the caller). */
export async function useBackend(name: BackendName = 'wasm'): Promise<void> {
  if (tf.getBackend() === name) return
  const ok = await tf.setBackend(name)
  if (!ok) throw new Error(`tfjs backend '${name}' could not be initialised`)
  await tf.ready()
}
