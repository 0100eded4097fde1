// Whether the wasm backend's matmuls run on onnxruntime, as a flag with no Node import: the model code reads
// it to choose its fastest path, and the model code is also bundled into the GPU page (a browser), which must
// not pull in native-matmul.ts (node:module, onnxruntime-node). native-matmul.ts sets it.
let active = false

/** Whether the wasm backend's matmuls currently run on onnxruntime (ops choose their fastest path by it). */
export function nativeMatmulActive(): boolean {
  return active
}

/** Only native-matmul.ts calls this, when it installs or removes its kernels. */
export function setNativeMatmulActive(on: boolean): void {
  active = on
}
