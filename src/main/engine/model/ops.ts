// Differentiable building blocks with hand-written gradients.
//
// Every backend-specific trick lives in this file, once. Why each exists (measured on wasm, one thread,
// reference shape; details in docs/model.md):
//  - matmul: tfjs' own matMul gradient uses transposeA/transposeB flags, which the wasm kernel runs
//    10-40x slower than a plain matmul. Our gradient transposes the *small* operand explicitly instead
//    (never the incoming gradient).
//  - batched (rank-3) matmul: the wasm BatchMatMul kernel only uses XNNPACK for a single matrix; with a
//    batch dimension it falls back to a naive loop (~3 GFLOP/s). On wasm we register a kernel that runs
//    the fast 2-D path once per batch entry (~25 GFLOP/s). Slicing at the op level is no alternative:
//    the wasm Slice kernel copies the whole input for every slice. With onnxruntime's matmul on wasm
//    (wasm-native) the batched product goes to it directly, and gradients use transpose flags (its GEMM
//    reads transposed operands in place) instead of explicit transposes.
//  - column sums (bias / LayerNorm gradients): Sum over axis 0 is ~80x slower than ones[1,N] @ x.
//  - gatherRows: the gradient of tf.gather needs UnsortedSegmentSum, which wasm lacks; we scatter-add
//    in plain JS there (the gradient is small: ids x hidden).
//  - gelu: erf and tanh are scalar (slow) on wasm, sigmoid is vectorised, so we use the tanh form of
//    GELU written as x * sigmoid(2u). The same formula runs on every backend.
//  - crossEntropy: softmax kernel + one scatter instead of exp/log over [rows, vocab] and a one-hot.
import * as tf from '@tensorflow/tfjs'
import { nativeMatmulActive, nativeRowNll } from '../backend/native-matmul-flag'

type Tensor = tf.Tensor
type T1 = [Tensor]
type T2 = [Tensor, Tensor]
type T3 = [Tensor, Tensor, Tensor]

/**
 * Typed wrapper over tf.customGrad: f gets the inputs as a tuple and a save function for the tensors
 * its gradient needs (saved tensors survive the forward pass's tidy; anything else is disposed).
 */
function customOp<I extends Tensor[], S extends Tensor[] = []>(
  f: (inputs: I, save: (tensors: S) => void) => { value: Tensor; gradFunc: (dy: Tensor, saved: S) => Tensor | Tensor[] }
): (...inputs: I) => Tensor {
  const g = tf.customGrad(((...args: unknown[]) => {
    installWasmKernels()
    const save = args.pop() as (tensors: S) => void
    const { value, gradFunc } = f(args as I, save)
    return {
      value,
      gradFunc: (dy: Tensor, saved: S): Tensor[] => {
        const grads = tf.tidy(() => {
          const r = gradFunc(dy, saved)
          return (Array.isArray(r) ? r : [r]).map((t) => (t === dy ? t.clone() : t))
        })
        // tfjs keeps every intermediate gradient alive until the whole backward pass ends (and runs
        // custom gradients outside a tidy). This output's gradient is consumed here and nowhere else.
        dy.dispose()
        return grads
      }
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return g as unknown as (...inputs: I) => Tensor
}

const isWasm = (): boolean => tf.getBackend() === 'wasm'

// ---------------------------------------------------------------------------------------------
// Batched matmul kernel for wasm

/** The subset of the wasm backend we rely on (tfjs-backend-wasm 4.x, see BackendWasm). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array
  disposeData(dataId: tf.DataId): boolean
}

const LOOP_BMM = 'ElleLoopBatchMatMul'

function loopBatchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike
  const a = args.inputs.a as tf.TensorInfo
  const b = args.inputs.b as tf.TensorInfo
  const [batch, m, k] = a.shape as [number, number, number]
  const n = b.shape[2] as number
  const inner = tf.getKernel('BatchMatMul', 'wasm')
  if (!inner) throw new Error('wasm BatchMatMul kernel not found')
  const attrs = { transposeA: false, transposeB: false }
  const out = backend.makeOutput([batch, m, n], 'float32')
  for (let i = 0; i < batch; i++) {
    // Fresh temporaries each iteration: XNNPACK caches packed weights per tensor id.
    // Heap views are re-taken after every allocation because the wasm memory may grow.
    const ai = backend.makeOutput([m, k], 'float32')
    const bi = backend.makeOutput([k, n], 'float32')
    backend.typedArrayFromHeap(ai).set(backend.typedArrayFromHeap(a).subarray(i * m * k, (i + 1) * m * k))
    backend.typedArrayFromHeap(bi).set(backend.typedArrayFromHeap(b).subarray(i * k * n, (i + 1) * k * n))
    const oi = inner.kernelFunc({ inputs: { a: ai, b: bi }, attrs, backend: args.backend as tf.KernelBackend }) as tf.TensorInfo
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(oi), i * m * n)
    backend.disposeData(ai.dataId)
    backend.disposeData(bi.dataId)
    backend.disposeData(oi.dataId)
  }
  return out
}

interface SharingBackend {
  incRef(dataId: tf.DataId): void
}

/**
 * wasm's Identity kernel copies its input. tfjs clones (= Identity) every tensor it saves for the
 * backward pass, so on wasm each saved activation was stored twice. Tensors are immutable (variables
 * swap their dataId on assign), so sharing the buffer, as the cpu backend does, is safe.
 */
function sharedIdentity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo
  ;(args.backend as SharingBackend).incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

let wasmKernelsInstalled = false
/** Registers our wasm kernels once (after the wasm backend registered its own). */
function installWasmKernels(): void {
  if (wasmKernelsInstalled || !isWasm()) return
  if (!tf.getKernel(LOOP_BMM, 'wasm')) {
    tf.registerKernel({ kernelName: LOOP_BMM, backendName: 'wasm', kernelFunc: loopBatchMatMul as unknown as tf.KernelFunc })
  }
  tf.unregisterKernel('Identity', 'wasm')
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharedIdentity as unknown as tf.KernelFunc })
  wasmKernelsInstalled = true
}

/** Plain (non-differentiable) a @ b for rank 2 or rank 3 (equal batch) operands, fastest path per backend. */
export function rawMatmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 3 && isWasm() && (a.shape[0] as number) > 1 && !nativeMatmulActive()) {
    installWasmKernels()
    if (b.rank !== 3 || b.shape[0] !== a.shape[0] || a.shape[2] !== b.shape[1]) {
      throw new Error(`matmul: incompatible shapes [${a.shape}] and [${b.shape}]`)
    }
    const aa = a.dtype === 'float32' ? a : a.toFloat()
    return tf.engine().runKernel(LOOP_BMM, { a: aa, b }, {}) as Tensor
  }
  return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)
}

/** Swap the last two axes (explicit transpose; cheap next to the matmul that follows). */
export function transposeLast2(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i)
  perm.splice(-2, 2, perm.length - 1, perm.length - 2)
  return tf.transpose(x, perm)
}

/** a @ b (rank 2, or rank 3 with equal batch) with a gradient that avoids transpose flags. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return customOp<T2, T2>(([x, y], save) => {
    save([x, y])
    return {
      value: rawMatmul(x, y),
      gradFunc: (dy, saved) => {
        const [xs, ys] = saved
        // onnxruntime's GEMM reads transposed operands in place; wasm's is fast only without the flags.
        if (nativeMatmulActive()) return [tf.matMul(dy, ys, false, true), tf.matMul(xs, dy, true, false)]
        return [rawMatmul(dy, transposeLast2(ys)), rawMatmul(transposeLast2(xs), dy)]
      }
    }
  })(a, b)
}

/**
 * a @ b^T for 2-D a [n, d] and b [V, d] (the tied output projection, b = token embedding).
 * XNNPACK re-reads its right operand once per block of output rows, so the weight gradient is taken
 * as dy^T @ a (right operand a: small) rather than a^T @ dy (right operand dy: [n, V], large) - 1.5x
 * faster on wasm at V = 8000 even after paying for the transpose of dy.
 */
export function matmulBT(a: Tensor, b: Tensor): Tensor {
  return customOp<T2, T2>(([x, y], save) => {
    save([x, y])
    if (nativeMatmulActive()) {
      return { value: tf.matMul(x, y, false, true), gradFunc: (dy, [xs, ys]) => [rawMatmul(dy, ys), tf.matMul(dy, xs, true, false)] }
    }
    return {
      value: rawMatmul(x, tf.transpose(y)),
      gradFunc: (dy, [xs, ys]) => [rawMatmul(dy, ys), rawMatmul(tf.transpose(dy), xs)]
    }
  })(a, b)
}

/** Sum over rows of a [N, C] matrix -> [C], as ones[1,N] @ x (Sum over axis 0 is slow on wasm). */
export function colSum(x: Tensor): tf.Tensor1D {
  const [n, c] = x.shape as [number, number]
  return tf.tidy(() => rawMatmul(tf.ones([1, n]), x).reshape([c]) as tf.Tensor1D)
}

/** x [N, C] + b [C] (broadcast over rows). */
export function addRowVector(x: Tensor, b: Tensor): Tensor {
  return customOp<T2, []>(([xx, bb]) => ({
    value: tf.add(xx, bb),
    gradFunc: (dy) => [dy, colSum(dy)]
  }))(x, b)
}

/**
 * Dense layer on a [N, in] matrix: x @ kernel + bias. The bias gradient rides along with the kernel
 * gradient: [x^T; 1] @ dy gives both, so dy is packed by XNNPACK once instead of twice.
 */
export function linear(x: Tensor, kernel: Tensor, bias?: Tensor): Tensor {
  if (!bias) return matmul(x, kernel)
  return customOp<T3, T2>(([xx, w, b], save) => {
    save([xx, w])
    return {
      value: tf.add(rawMatmul(xx, w), b),
      gradFunc: (dy, [xs, ws]) => {
        if (nativeMatmulActive()) return [tf.matMul(dy, ws, false, true), tf.matMul(xs, dy, true, false), colSum(dy)]
        const [n, din] = xs.shape as [number, number]
        const dout = ws.shape[1] as number
        const g = rawMatmul(tf.concat([tf.transpose(xs), tf.ones([1, n])], 0), dy) // [in + 1, out]
        return [rawMatmul(dy, tf.transpose(ws)), tf.slice(g, [0, 0], [din, dout]), tf.slice(g, [din, 0], [1, dout]).reshape([dout])]
      }
    }
  })(x, kernel, bias)
}

// ---------------------------------------------------------------------------------------------
// Row gather with scatter-add gradient (embedding lookup, selecting masked positions)

/** Sum rows of `src` [n, d] into a [numRows, d] matrix at `ids` (the adjoint of a row gather). */
export function scatterAddRows(ids: Tensor, src: Tensor, numRows: number, forceJs = false): Tensor {
  if (!forceJs && tf.getKernel('UnsortedSegmentSum', tf.getBackend())) {
    return tf.unsortedSegmentSum(src, ids as tf.Tensor1D, numRows)
  }
  const d = src.shape[1] as number
  const idx = ids.dataSync()
  const g = src.dataSync()
  const out = new Float32Array(numRows * d)
  for (let r = 0; r < idx.length; r++) {
    const o = idx[r]! * d
    const s = r * d
    for (let j = 0; j < d; j++) out[o + j]! += g[s + j]!
  }
  return tf.tensor2d(out, [numRows, d])
}

/** table[ids] for a [V, d] table and int32 ids [n] -> [n, d]; gradient flows to the table only. */
export function gatherRows(table: Tensor, ids: Tensor, forceJsGrad = false): Tensor {
  const numRows = table.shape[0]
  return customOp<T1, T1>(([t], save) => {
    save([ids]) // the caller may dispose ids before the backward pass runs
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy, [savedIds]) => scatterAddRows(savedIds, dy, numRows, forceJsGrad)
    }
  })(table)
}

// ---------------------------------------------------------------------------------------------
// LayerNorm, GELU, cross-entropy

/** LayerNorm over the last axis of a [N, d] matrix. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const d = x.shape[x.rank - 1] as number
  return customOp<T3, T3>(([xx, g, b], save) => {
    const mean = tf.mean(xx, -1, true)
    const xc = tf.sub(xx, mean)
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps))
    const xhat = tf.mul(xc, rstd)
    save([xhat, rstd, g])
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy, saved) => {
        const [xh, rs, gs] = saved
        const dxhat = tf.mul(dy, gs)
        const m1 = tf.mean(dxhat, -1, true)
        const m2 = tf.mean(tf.mul(dxhat, xh), -1, true)
        const dx = tf.mul(rs, tf.sub(tf.sub(dxhat, m1), tf.mul(xh, m2)))
        const dy2 = dy.reshape([-1, d])
        return [dx, colSum(tf.mul(dy2, xh.reshape([-1, d]))), colSum(dy2)]
      }
    }
  })(x, gamma, beta)
}

const GELU_C = Math.sqrt(2 / Math.PI)
const GELU_A = 0.044715

/** GELU, tanh form: 0.5x(1+tanh(u)) = x*sigmoid(2u), u = sqrt(2/pi)(x + 0.044715x^3). */
export function gelu(x: Tensor): Tensor {
  return customOp<T1, T2>(([xx], save) => {
    const x2 = tf.square(xx)
    const s = tf.sigmoid(tf.mul(tf.mul(xx, tf.add(tf.mul(x2, GELU_A), 1)), 2 * GELU_C))
    save([xx, s])
    return {
      value: tf.mul(xx, s),
      gradFunc: (dy, saved) => {
        const [xs, ss] = saved
        // d/dx [x s(v)] = s + x s (1-s) v',  v' = 2c(1 + 3a x^2)
        const dv = tf.mul(tf.add(tf.mul(tf.square(xs), 3 * GELU_A), 1), 2 * GELU_C)
        const ds = tf.mul(tf.mul(ss, tf.sub(1, ss)), tf.mul(xs, dv))
        return [tf.mul(dy, tf.add(ss, ds))]
      }
    }
  })(x)
}

/**
 * Mean cross-entropy of [n, V] logits against int32 labels (all valid, 0 <= label < V).
 * Probabilities come from the softmax kernel; log p is clamped at 1e-30 (loss <= 69 per row).
 */
export function crossEntropy(logits: Tensor, labels: Int32Array): tf.Scalar {
  const [n, v] = logits.shape as [number, number]
  if (labels.length !== n) throw new Error(`crossEntropy: ${labels.length} labels for ${n} rows`)
  const pairs = new Int32Array(2 * n)
  for (let i = 0; i < n; i++) {
    const l = labels[i]!
    if (!(l >= 0 && l < v)) throw new Error(`crossEntropy: label ${l} out of range [0, ${v})`)
    pairs[2 * i] = i
    pairs[2 * i + 1] = l
  }
  return customOp<T1, T2>(([z], save) => {
    const p = tf.softmax(z)
    // Row/column pairs, not a flat index into p: tfjs's gather computes its index in float32 on WebGPU (and
    // WebGL), so a flat index above 2^24 (n * V: 4096 rows x 8000 tokens) reads the wrong probability.
    const pl = tf.gatherND(p, tf.tensor2d(pairs, [n, 2], 'int32'))
    save([p, pl])
    return {
      value: tf.neg(tf.mean(tf.log(tf.maximum(pl, 1e-30)))),
      gradFunc: (dy, saved) => {
        const [ps, pls] = saved
        const g = tf.tensorScatterUpdate(ps, tf.tensor2d(pairs, [n, 2], 'int32'), tf.sub(pls, 1))
        return [tf.mul(g, tf.div(dy, n))]
      }
    }
  })(logits) as tf.Scalar
}

/**
 * The most tensors one `addN` may add: WebGPU's AddN kernel binds every input as a storage buffer, and
 * a shader gets 8 (maxStorageBuffersPerShaderStage), one of them the output. More inputs give a wrong sum.
 */
export const MAX_ADDN_INPUTS = 7

/** Sum of same-shape tensors, added at most MAX_ADDN_INPUTS at a time (the same result on every backend). */
export function addMany(tensors: readonly Tensor[]): Tensor {
  if (tensors.length === 0) throw new Error('addMany: no tensors')
  let level: Tensor[] = [...tensors]
  while (level.length > 1) {
    const next: Tensor[] = []
    for (let i = 0; i < level.length; i += MAX_ADDN_INPUTS) {
      const chunk = level.slice(i, i + MAX_ADDN_INPUTS)
      next.push(chunk.length === 1 ? chunk[0]! : tf.addN(chunk))
    }
    level = next
  }
  return level[0]!
}

/** Inverted dropout with an explicit seed (reproducible); identity when rate is 0. */
export function dropout(x: Tensor, rate: number, seed: number): Tensor {
  if (rate <= 0) return x
  return tf.dropout(x, rate, undefined, seed)
}

/**
 * −log softmax(logits)[row, target] per row, as logSumExp(row) − logits[row, target]: one reduction over
 * [N, V] and a gather of N values, instead of logSoftmax's full-size [N, V] temporaries (equal to float
 * rounding). The target logits are taken by (row, target) pairs, not a flat index: tfjs's gather goes through
 * float32 on WebGPU/WebGL, exact only below 2^24 (= 2,098 rows at V = 8000). Evaluation only: on wasm-native
 * it has no gradient.
 */
export function rowNll(logits: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  // wasm-native: one onnxruntime graph over the wasm heap (no [N, V] temporaries at all); no gradient
  const native = nativeRowNll(logits, targets)
  if (native) return native
  return tf.tidy(() => {
    const n = logits.shape[0]
    const pairs = tf.stack([tf.range(0, n, 1, 'int32'), tf.tensor1d(targets, 'int32')], 1)
    return tf.sub(tf.logSumExp(logits, -1), tf.gatherND(logits, pairs)) as tf.Tensor1D
  })
}
