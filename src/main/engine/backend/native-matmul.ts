// Native matrix multiplies for the wasm backend: tfjs-wasm runs every op, but its BatchMatMul and
// _FusedMatMul kernels are replaced by onnxruntime-node's MLAS GEMM (AVX2/AVX-512 FMA where the CPU has it;
// wasm SIMD128 has no FMA). The native binding's session `run` is synchronous (the public
// `InferenceSession.run` only wraps it in setImmediate), so a tfjs kernel can call it: a one-node MatMul
// ONNX graph built here, inputs and a preallocated output as Float32Array views of the wasm heap, no copies.
// Sessions are cached per operand ranks, transposes and fused epilogue; dimensions are symbolic, so a new
// batch or sequence length reuses the session.
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { duringEvaluation, ROW_NLL_KERNEL, setNativeMatmulActive } from './native-matmul-flag'

const require = createRequire(import.meta.url)

// ---------------------------------------------------------------------------------------------
// The onnxruntime-node binding (the subset we call; onnxruntime-node 1.30 dist/binding.js)

interface OrtTensorConstructor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): object
  new (type: 'int32', data: Int32Array, dims: readonly number[]): object
}
interface OrtSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): void
  run(feeds: Record<string, object>, fetches: Record<string, object>, options: Record<string, unknown>): Record<string, object>
  dispose(): void
}
interface OrtBindingModule {
  binding: { InferenceSession: new () => OrtSession }
  initOrt(): void
}
interface Ort {
  version: string
  Tensor: OrtTensorConstructor
  newSession(model: Uint8Array, threads: number): OrtSession
}

/** Loads onnxruntime-node's native binding (throws with the loader's message where it cannot load). */
function loadOrt(): Ort {
  const pkgJson = require.resolve('onnxruntime-node/package.json')
  const fromOrt = createRequire(pkgJson)
  const { version } = fromOrt(pkgJson) as { version: string }
  const mod = fromOrt('./dist/binding.js') as OrtBindingModule
  // The binding builds its result tensors with onnxruntime-common's Tensor: take the same module instance.
  const { Tensor } = fromOrt('onnxruntime-common') as { Tensor: OrtTensorConstructor }
  mod.initOrt()
  return {
    version,
    Tensor,
    newSession(model, threads) {
      const s = new mod.binding.InferenceSession()
      s.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        enableCpuMemArena: true
      })
      return s
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A minimal protobuf writer for the ONNX graph (onnx.proto3 field numbers)

type Bytes = number[]
function varint(value: number): Bytes {
  const out: Bytes = []
  let v = value
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return out
}
const field = (num: number, wire: number): Bytes => varint(num * 8 + wire)
const int = (num: number, v: number): Bytes => [...field(num, 0), ...varint(v)]
const msg = (num: number, body: Bytes): Bytes => [...field(num, 2), ...varint(body.length), ...body]
const str = (num: number, s: string): Bytes => msg(num, [...Buffer.from(s, 'utf8')])

const FLOAT = 1
const INT32 = 6

/** ValueInfoProto of a tensor (float unless told) with symbolic dimensions; `dims` names them (shared names must be equal). */
function valueInfo(name: string, rank: number, elemType = FLOAT, dims?: string[]): Bytes {
  const dimNames = dims ?? Array.from({ length: rank }, (_, i) => `${name}${i}`)
  const shape = dimNames.map((d) => msg(1, str(2, d))).flat() // Dimension.dim_param
  const tensorType = [...int(1, elemType), ...msg(2, shape)]
  return [...str(1, name), ...msg(2, msg(1, tensorType))]
}

/** A node attribute: one integer or a list of them (AttributeProto INT / INTS). */
type Attr = { name: string; int: number } | { name: string; ints: number[] }

interface NodeSpec {
  op: string
  inputs: string[]
  output: string
  attrs?: Attr[]
}
function attribute(a: Attr): Bytes {
  // AttributeProto: name 1, i 3, ints 8, type 20 (INT 2, INTS 7)
  if ('int' in a) return [...str(1, a.name), ...int(3, a.int), ...int(20, 2)]
  return [...str(1, a.name), ...a.ints.flatMap((v) => int(8, v)), ...int(20, 7)]
}
function node(n: NodeSpec, i: number): Bytes {
  const attrs = (n.attrs ?? []).flatMap((a) => msg(5, attribute(a)))
  return [...n.inputs.flatMap((x) => str(1, x)), ...str(2, n.output), ...str(3, `n${i}`), ...str(4, n.op), ...attrs]
}

/** A ModelProto of one graph (opset 13: Reduce* still take their axes as an attribute). */
function model(nodes: NodeSpec[], name: string, inputs: Bytes[], outputs: Bytes[]): Uint8Array {
  const graph = [...nodes.flatMap((n, i) => msg(1, node(n, i))), ...str(2, name), ...inputs.flatMap((v) => msg(11, v)), ...outputs.flatMap((v) => msg(12, v))]
  const opset = [...str(1, ''), ...int(2, 13)]
  return Uint8Array.from([...int(1, 8 /* ir_version */), ...str(2, 'elle-workbench'), ...msg(7, graph), ...msg(8, opset)])
}

export type Epilogue = 'none' | 'relu'

export interface MatmulGraphSpec {
  rankA: number
  rankB: number
  transposeA: boolean
  transposeB: boolean
  /** rank of a bias added to the product (numpy broadcasting), 0 for none */
  biasRank: number
  epilogue: Epilogue
}

/** Y = act(op(A) @ op(B) + bias) as an ONNX model (opset 13). ORT fuses the Transposes into its GEMM. */
export function matmulModel(spec: MatmulGraphSpec): Uint8Array {
  const swap = (rank: number): number[] => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2]
  const nodes: NodeSpec[] = []
  let a = 'A'
  let b = 'B'
  if (spec.transposeA) nodes.push({ op: 'Transpose', inputs: ['A'], output: (a = 'At'), attrs: [{ name: 'perm', ints: swap(spec.rankA) }] })
  if (spec.transposeB) nodes.push({ op: 'Transpose', inputs: ['B'], output: (b = 'Bt'), attrs: [{ name: 'perm', ints: swap(spec.rankB) }] })
  let y = 'P'
  nodes.push({ op: 'MatMul', inputs: [a, b], output: y })
  if (spec.biasRank > 0) nodes.push({ op: 'Add', inputs: [y, 'C'], output: (y = 'S') })
  if (spec.epilogue === 'relu') nodes.push({ op: 'Relu', inputs: [y], output: (y = 'R') })
  nodes[nodes.length - 1]!.output = 'Y'
  const outRank = Math.max(spec.rankA, spec.rankB)
  const inputs = [valueInfo('A', spec.rankA), valueInfo('B', spec.rankB), ...(spec.biasRank > 0 ? [valueInfo('C', spec.biasRank)] : [])]
  return model(nodes, 'matmul', inputs, [valueInfo('Y', outRank)])
}

/**
 * Y[n, 0] = logSumExp(L[n, :]) − L[n, T[n, 0]]: the negative log-likelihood of each row's target, for
 * logits L [N, V] (float) and targets T [N, 1] (int32). 'logsoftmax' (used): −GatherElements(LogSoftmax(L)),
 * MLAS's vectorised softmax, though it writes an [N, V] temporary; 'lse': ReduceLogSumExp minus GatherElements,
 * no temporary but a scalar exp per element: 6× slower at [2016, 8000] (11.5 vs 68 ms CPU, docs/benchmarks.md).
 */
export function rowNllModel(variant: 'lse' | 'logsoftmax' = 'logsoftmax'): Uint8Array {
  const nodes: NodeSpec[] =
    variant === 'lse'
      ? [
          {
            op: 'ReduceLogSumExp',
            inputs: ['L'],
            output: 'M',
            attrs: [
              { name: 'axes', ints: [1] },
              { name: 'keepdims', int: 1 }
            ]
          },
          { op: 'GatherElements', inputs: ['L', 'T'], output: 'G', attrs: [{ name: 'axis', int: 1 }] },
          { op: 'Sub', inputs: ['M', 'G'], output: 'Y' }
        ]
      : [
          { op: 'LogSoftmax', inputs: ['L'], output: 'P', attrs: [{ name: 'axis', int: 1 }] },
          { op: 'GatherElements', inputs: ['P', 'T'], output: 'G', attrs: [{ name: 'axis', int: 1 }] },
          { op: 'Neg', inputs: ['G'], output: 'Y' }
        ]
  const inputs = [valueInfo('L', 2, FLOAT, ['N', 'V']), valueInfo('T', 2, INT32, ['N', 'one'])]
  return model(nodes, 'row_nll', inputs, [valueInfo('Y', 2, FLOAT, ['N', 'one'])])
}

// ---------------------------------------------------------------------------------------------
// The tfjs kernels

/** The subset of tfjs-backend-wasm's BackendWasm we use. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo
  /** a view of the tensor's data on the wasm heap, typed by its dtype */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array
  disposeData(dataId: tf.DataId): boolean
}

/** The float32 view of a float32 tensor on the wasm heap. */
function floatView(backend: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  const v = backend.typedArrayFromHeap(t)
  if (!(v instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${t.dtype}`)
  return v
}

interface MatmulAttrs {
  transposeA?: boolean
  transposeB?: boolean
  activation?: string
}

export interface NativeMatmulInfo {
  /** onnxruntime-node version */
  version: string
  /** ORT intra-op threads per GEMM */
  threads: number
}

interface State {
  ort: Ort
  threads: number
  sessions: Map<string, OrtSession>
  originals: Map<string, tf.KernelConfig>
  /** matmuls run natively since install (tests check the kernel is really used) */
  calls: number
  /** row NLLs run natively since install */
  nllCalls: number
  /** products sent back to wasm's kernel since install */
  wasmCalls: number
}
let state: State | undefined

const KERNELS = ['BatchMatMul', '_FusedMatMul'] as const

/**
 * Which 2-D products run on wasm's XNNPACK instead of ORT: those with an inner dimension of at most
 * `maxInner` and at least `minOutput` output elements. MLAS is slow on large outputs with a small inner
 * dimension (the tied head [2016 × 32] × [32 × 8000]: 288 ms CPU against 41 ms on XNNPACK) and fast on the rest
 * (gradients with transposed operands, small outputs, K = 1024); measured with `bench:eval --shapes`, table in
 * docs/benchmarks.md "Evaluation head".
 */
export interface WasmRouting {
  maxInner: number
  minOutput: number
  /** 'evaluation': only inside `asEvaluation` (validation); 'always': every product (benchmarks, tests) */
  scope: 'evaluation' | 'always'
}
export const DEFAULT_WASM_ROUTING: Readonly<WasmRouting> = { maxInner: 256, minOutput: 1 << 21, scope: 'evaluation' }
let routing: WasmRouting = { ...DEFAULT_WASM_ROUTING }

function sessionFor(s: State, spec: MatmulGraphSpec): OrtSession {
  const key = `${spec.rankA},${spec.rankB},${Number(spec.transposeA)}${Number(spec.transposeB)},${spec.biasRank},${spec.epilogue}`
  let session = s.sessions.get(key)
  if (!session) {
    session = s.ort.newSession(matmulModel(spec), s.threads)
    s.sessions.set(key, session)
  }
  return session
}

function outputShape(a: tf.TensorInfo, b: tf.TensorInfo, tA: boolean, tB: boolean): number[] {
  const ra = a.shape.length
  const rb = b.shape.length
  const inner = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!
  const innerB = tB ? b.shape[rb - 1]! : b.shape[rb - 2]!
  if (inner !== innerB) throw new Error(`matMul: inner dimensions of [${a.shape}] and [${b.shape}] (transposeA=${tA}, transposeB=${tB}) differ`)
  const batch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
  return [...batch, tA ? a.shape[ra - 1]! : a.shape[ra - 2]!, tB ? b.shape[rb - 2]! : b.shape[rb - 1]!]
}

function runNative(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }, kernel: (typeof KERNELS)[number]): tf.TensorInfo {
  const s = state!
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>
  const attrs = (args.attrs ?? {}) as MatmulAttrs
  const activation = attrs.activation ?? 'linear'
  const supported =
    a &&
    b &&
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    (!bias || bias.dtype === 'float32') &&
    !preluActivationWeights &&
    (activation === 'linear' || activation === 'relu') &&
    a.shape.length >= 2 &&
    b.shape.length >= 2 &&
    a.shape.every((d) => d > 0) &&
    b.shape.every((d) => d > 0)
  if (!supported) return s.originals.get(kernel)!.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo
  const backend = args.backend as WasmBackendLike
  const tA = attrs.transposeA === true
  const tB = attrs.transposeB === true
  const shape = outputShape(a, b, tA, tB)
  const inner = tA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!
  // tf.matMul hands 2-D products to the kernel as [1, M, K] × [1, K, N]
  const single = (t: tf.TensorInfo): boolean => t.shape.length <= 3 && t.shape.slice(0, -2).every((d) => d === 1)
  const [m, n] = shape.slice(-2) as [number, number]
  if ((routing.scope === 'always' || duringEvaluation()) && single(a) && single(b) && inner <= routing.maxInner && m * n >= routing.minOutput) {
    return runOnWasm(args, kernel, tA, tB)
  }
  const spec: MatmulGraphSpec = {
    rankA: a.shape.length,
    rankB: b.shape.length,
    transposeA: tA,
    transposeB: tB,
    biasRank: bias ? Math.max(1, bias.shape.length) : 0,
    epilogue: activation === 'relu' ? 'relu' : 'none'
  }
  const session = sessionFor(s, spec)
  const out = backend.makeOutput(shape, 'float32')
  try {
    // Views are taken after makeOutput: an allocation may grow (and so replace) the wasm memory.
    const T = s.ort.Tensor
    const feeds: Record<string, object> = { A: new T('float32', floatView(backend, a), a.shape), B: new T('float32', floatView(backend, b), b.shape) }
    if (bias) feeds.C = new T('float32', floatView(backend, bias), bias.shape.length ? bias.shape : [1])
    session.run(feeds, { Y: new T('float32', floatView(backend, out), shape) }, {})
  } catch (error) {
    backend.disposeData(out.dataId)
    throw error
  }
  s.calls++
  return out
}

/**
 * A 2-D product on tfjs-wasm's own kernel (XNNPACK; which ones: WasmRouting). XNNPACK is fast only without
 * transpose flags (12× slower with them), so transposed operands are copied first.
 */
function runOnWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }, kernel: (typeof KERNELS)[number], tA: boolean, tB: boolean): tf.TensorInfo {
  const s = state!
  const backend = args.backend as WasmBackendLike
  const transpose = tf.getKernel('Transpose', 'wasm')
  if (!transpose) throw new Error('the wasm backend has no Transpose kernel')
  const inputs = { ...args.inputs } as Record<string, tf.TensorInfo>
  const copies: tf.TensorInfo[] = []
  const flip = (t: tf.TensorInfo): tf.TensorInfo => {
    const perm = t.shape.map((_, i) => i)
    perm.splice(-2, 2, perm.length - 1, perm.length - 2)
    const out = transpose.kernelFunc({ inputs: { x: t }, backend: args.backend as tf.KernelBackend, attrs: { perm } }) as tf.TensorInfo
    copies.push(out)
    return out
  }
  try {
    if (tA) inputs.a = flip(inputs.a!)
    if (tB) inputs.b = flip(inputs.b!)
    const attrs = { ...(args.attrs ?? {}), transposeA: false, transposeB: false }
    const out = s.originals.get(kernel)!.kernelFunc({ inputs, backend: args.backend as tf.KernelBackend, attrs }) as tf.TensorInfo
    s.wasmCalls++
    return out
  } finally {
    for (const c of copies) backend.disposeData(c.dataId)
  }
}

function runRowNll(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const s = state
  if (!s) throw new Error(`${ROW_NLL_KERNEL} runs only while the native kernels are installed`)
  const { logits, targets } = args.inputs as Record<string, tf.TensorInfo | undefined>
  if (!logits || !targets || logits.dtype !== 'float32' || targets.dtype !== 'int32' || logits.shape.length !== 2) {
    throw new Error(`${ROW_NLL_KERNEL} needs float32 logits [N, V] and int32 targets [N]`)
  }
  const [n, v] = logits.shape as [number, number]
  if (targets.shape.length !== 1 || targets.shape[0] !== n) throw new Error(`${ROW_NLL_KERNEL}: ${targets.shape} targets for ${n} rows`)
  let session = s.sessions.get(ROW_NLL_KERNEL)
  if (!session) {
    session = s.ort.newSession(rowNllModel(), s.threads)
    s.sessions.set(ROW_NLL_KERNEL, session)
  }
  const backend = args.backend as WasmBackendLike
  const out = backend.makeOutput([n], 'float32')
  try {
    if (n > 0 && v > 0) {
      const T = s.ort.Tensor
      const t = backend.typedArrayFromHeap(targets)
      if (!(t instanceof Int32Array)) throw new Error(`${ROW_NLL_KERNEL}: targets are not int32`)
      // the [N] target and output buffers are fed as the [N, 1] the graph takes
      const feeds = { L: new T('float32', floatView(backend, logits), [n, v]), T: new T('int32', t, [n, 1]) }
      session.run(feeds, { Y: new T('float32', floatView(backend, out), [n, 1]) }, {})
    }
  } catch (error) {
    backend.disposeData(out.dataId)
    throw error
  }
  s.nllCalls++
  return out
}

/** Row NLLs run natively since the kernels were installed. */
export function nativeRowNllCalls(): number {
  return state?.nllCalls ?? 0
}

export { asEvaluation, nativeMatmulActive, nativeRowNll, ROW_NLL_KERNEL } from './native-matmul-flag'

/** 2-D products kept on wasm's own kernel (small inner dimension) since the kernels were installed. */
export function nativeMatmulWasmCalls(): number {
  return state?.wasmCalls ?? 0
}

/** Sets which 2-D products stay on wasm (benchmarks and tests; maxInner 0 sends every product to ORT). */
export function setWasmRouting(r: WasmRouting): void {
  for (const k of ['maxInner', 'minOutput'] as const) {
    if (!(r[k] >= 0)) throw new Error(`wasm routing: ${k} must be a non-negative number, got ${r[k]}`)
  }
  routing = { ...r }
}

/** Matmuls run natively since the kernels were installed. */
export function nativeMatmulCalls(): number {
  return state?.calls ?? 0
}

/**
 * Replaces the wasm backend's matmul kernels with onnxruntime's (the wasm backend must be registered).
 * Checks the result on a small product with both transposes before returning; on any failure the wasm
 * kernels stay as they were and the error says why.
 */
export function installNativeMatmul(threads: number): NativeMatmulInfo {
  if (state) return { version: state.ort.version, threads: state.threads }
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`onnxruntime threads must be a positive integer, got ${threads}`)
  const ort = loadOrt()
  const originals = new Map<string, tf.KernelConfig>()
  for (const name of KERNELS) {
    const k = tf.getKernel(name, 'wasm')
    if (!k) throw new Error(`the wasm backend has no ${name} kernel to replace`)
    originals.set(name, k)
  }
  state = { ort, threads, sessions: new Map(), originals, calls: 0, nllCalls: 0, wasmCalls: 0 }
  setNativeMatmulActive(true)
  for (const name of KERNELS) {
    tf.unregisterKernel(name, 'wasm')
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => runNative(args, name)) as tf.KernelFunc })
  }
  tf.registerKernel({ kernelName: ROW_NLL_KERNEL, backendName: 'wasm', kernelFunc: runRowNll as unknown as tf.KernelFunc })
  try {
    selfCheck()
  } catch (error) {
    uninstallNativeMatmul()
    throw error
  }
  return { version: ort.version, threads }
}

/** Restores tfjs-wasm's own matmul kernels and frees the sessions. */
export function uninstallNativeMatmul(): void {
  const s = state
  if (!s) return
  state = undefined
  setNativeMatmulActive(false)
  for (const [name, config] of s.originals) {
    tf.unregisterKernel(name, 'wasm')
    tf.registerKernel(config)
  }
  tf.unregisterKernel(ROW_NLL_KERNEL, 'wasm')
  for (const session of s.sessions.values()) session.dispose()
}

/** A [2,3] x [4,3]^T product (and its transposed-A twin) against a JS reference. */
function selfCheck(): void {
  const av = [1, -2, 3, 0.5, 4, -1]
  const bv = [2, 0, 1, -1, 3, 0.25, 0, 1, 1, 2, 2, 2]
  const expected: number[] = []
  for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) expected.push(av[i * 3]! * bv[j * 3]! + av[i * 3 + 1]! * bv[j * 3 + 1]! + av[i * 3 + 2]! * bv[j * 3 + 2]!)
  const before = state!.calls
  const kept = routing
  routing = { maxInner: 0, minOutput: Infinity, scope: 'always' } // it is ORT that must be checked
  let y1: tf.backend_util.TypedArray | undefined
  let y2: typeof y1
  try {
    ;[y1, y2] = tf.tidy(() => {
      const a = tf.tensor2d(av, [2, 3])
      const b = tf.tensor2d(bv, [4, 3])
      return [tf.matMul(a, b, false, true).dataSync(), tf.matMul(a.transpose(), b, true, true).dataSync()]
    })
  } finally {
    routing = kept
  }
  for (const y of [y1!, y2!]) {
    expected.forEach((e, i) => {
      if (Math.abs(y[i]! - e) > 1e-5) throw new Error(`onnxruntime matmul self-check failed: element ${i} is ${y[i]}, expected ${e}`)
    })
  }
  if (state!.calls - before !== 2) throw new Error('onnxruntime matmul self-check did not reach the native kernel')
}
