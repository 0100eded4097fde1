// wasm-native: tfjs-wasm with its matmuls on onnxruntime-node's MLAS kernel, against plain wasm in the same
// process (useBackend swaps the kernels). Products, gradients through the model's matmul ops and a tiny
// model's training losses must match wasm to float tolerance, the native kernel must really run, and the
// tensor count must stay flat across steps.
import * as tf from '@tensorflow/tfjs'
import { afterAll, describe, expect, it } from 'vitest'
import {
  asEvaluation,
  DEFAULT_WASM_ROUTING,
  nativeMatmulActive,
  nativeMatmulCalls,
  nativeMatmulWasmCalls,
  nativeRowNll,
  nativeRowNllCalls,
  setWasmRouting
} from '../../../src/main/engine/backend/native-matmul'
import { maskTokens } from '../../../src/main/engine/model/masking'
import { type LossBatch, TransformerModel } from '../../../src/main/engine/model/model'
import { matmul, matmulBT, linear, rowNll } from '../../../src/main/engine/model/ops'
import { Rng } from '../../../src/main/engine/model/rng'
import { Trainer } from '../../../src/main/engine/model/train'
import { backend, ids2d, tinyConfig } from './helpers'

afterAll(() => backend('wasm'))

/** Runs f on wasm (or the reference backend given) and on wasm-native; returns both results. */
async function both<T>(f: () => T | Promise<T>, reference: 'wasm' | 'cpu' = 'wasm'): Promise<{ wasm: T; native: T; calls: number }> {
  await backend('wasm')
  expect(nativeMatmulActive()).toBe(false)
  if (reference === 'cpu') await backend('cpu')
  const wasm = await f()
  await backend('wasm-native')
  expect(nativeMatmulActive()).toBe(true)
  const before = nativeMatmulCalls()
  const native = await f()
  const calls = nativeMatmulCalls() - before
  await backend('wasm')
  return { wasm, native, calls }
}

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed)
}

function expectClose(a: Float32Array | number[], b: Float32Array | number[], tol: number): void {
  expect(a.length).toBe(b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)))
  expect(worst).toBeLessThan(tol)
}

describe('wasm-native matmul kernels', () => {
  const cases: Array<{ a: number[]; b: number[]; tA: boolean; tB: boolean }> = [
    { a: [5, 7], b: [7, 3], tA: false, tB: false },
    { a: [7, 5], b: [7, 3], tA: true, tB: false },
    { a: [5, 7], b: [3, 7], tA: false, tB: true },
    { a: [7, 5], b: [3, 7], tA: true, tB: true },
    { a: [4, 6, 8], b: [4, 8, 3], tA: false, tB: false },
    { a: [4, 8, 6], b: [4, 3, 8], tA: true, tB: true },
    { a: [2, 4, 6, 8], b: [8, 5], tA: false, tB: false }, // batch broadcast, rank 4 by rank 2
    { a: [1, 6, 8], b: [3, 8, 5], tA: false, tB: false }
  ]
  for (const c of cases) {
    it(`BatchMatMul [${c.a}]${c.tA ? 'ᵀ' : ''} x [${c.b}]${c.tB ? 'ᵀ' : ''} equals wasm`, async () => {
      const r = await both(() =>
        tf.tidy(() => {
          const y = tf.matMul(rand(c.a, 1), rand(c.b, 2), c.tA, c.tB)
          return { shape: y.shape, data: y.dataSync() as Float32Array }
        })
      )
      expect(r.native.shape).toEqual(r.wasm.shape)
      expectClose(r.native.data, r.wasm.data, 1e-5)
      expect(r.calls).toBe(1)
    })
  }

  // Against the cpu backend: tfjs-wasm 4.22's own _FusedMatMul gets every row after the first wrong with
  // transposeB and a bias (the model does not use it; tf.fused.matMul does).
  it('_FusedMatMul with bias and relu equals the cpu backend; other activations go to the wasm kernel', async () => {
    const fused = (activation?: 'relu' | 'elu'): number[] =>
      tf.tidy(() => [...(tf.fused.matMul({ a: rand([6, 8], 3), b: rand([5, 8], 4), transposeB: true, bias: rand([5], 5), activation }).dataSync() as Float32Array)])
    const r = await both(() => [...fused('relu'), ...fused()], 'cpu')
    expectClose(r.native, r.wasm, 1e-5)
    expect(r.calls).toBe(2)
    await backend('wasm-native')
    const before = nativeMatmulCalls()
    fused('elu')
    expect(nativeMatmulCalls()).toBe(before)
    await backend('wasm')
  })

  it('gradients through matmul, matmulBT and linear equal wasm', async () => {
    const r = await both(() =>
      tf.tidy(() => {
        const x = rand([3, 6, 8], 6)
        const w = rand([3, 8, 4], 7)
        const k = rand([4, 5], 8)
        const bias = rand([5], 9)
        const e = rand([11, 5], 10)
        const f = (xx: tf.Tensor, ww: tf.Tensor, kk: tf.Tensor, bb: tf.Tensor, ee: tf.Tensor): tf.Scalar =>
          tf.sum(tf.square(matmulBT(linear(matmul(xx, ww).reshape([18, 4]), kk, bb), ee))) as tf.Scalar
        const grads = tf.grads(f)([x, w, k, bias, e])
        return grads.flatMap((g) => [...(g.dataSync() as Float32Array)])
      })
    )
    expectClose(r.native, r.wasm, 1e-4)
    expect(r.calls).toBeGreaterThan(4)
  })
})

// Products with a small inner dimension and a large output go back to wasm's XNNPACK (MLAS is 7× slower on the
// tied head); the transposed operands are copied first, the copies freed.
describe('wasm-native routing of small-K products to wasm', () => {
  afterAll(() => setWasmRouting(DEFAULT_WASM_ROUTING))

  it('every transpose combination, and the fused bias + relu, equal the cpu backend on the routed path; no leaks', async () => {
    const products = (): number[] =>
      tf.tidy(() => [
        ...(tf.matMul(rand([5, 7], 1), rand([7, 3], 2)).dataSync() as Float32Array),
        ...(tf.matMul(rand([7, 5], 1), rand([7, 3], 2), true, false).dataSync() as Float32Array),
        ...(tf.matMul(rand([5, 7], 1), rand([3, 7], 2), false, true).dataSync() as Float32Array),
        ...(tf.matMul(rand([7, 5], 1), rand([3, 7], 2), true, true).dataSync() as Float32Array),
        ...(tf.fused.matMul({ a: rand([6, 8], 3), b: rand([5, 8], 4), transposeB: true, bias: rand([5], 5), activation: 'relu' }).dataSync() as Float32Array)
      ])
    await backend('cpu')
    const expected = products()
    await backend('wasm-native')
    setWasmRouting({ maxInner: 8, minOutput: 0, scope: 'always' })
    products() // warm-up: kernels and sessions made once
    const tensors = tf.memory().numTensors
    const dataIds = tf.engine().backend.numDataIds()
    const [calls, wasmCalls] = [nativeMatmulCalls(), nativeMatmulWasmCalls()]
    const got = products()
    expect(nativeMatmulWasmCalls() - wasmCalls).toBe(5)
    expect(nativeMatmulCalls()).toBe(calls)
    expect(tf.memory().numTensors).toBe(tensors)
    expect(tf.engine().backend.numDataIds()).toBe(dataIds)
    expectClose(got, expected, 1e-5)
    setWasmRouting(DEFAULT_WASM_ROUTING)
    await backend('wasm')
  })

  it('by default the tied head [264 × 32] × [8000 × 32]ᵀ runs on wasm in evaluation only; a K = 1024 product on ORT', async () => {
    const r = await both(() =>
      tf.tidy(() => {
        const E = rand([8000, 32], 2)
        const h = rand([264, 32], 1) // 2.1M outputs
        let wasmCalls = nativeMatmulWasmCalls()
        const training = tf.matMul(h, E, false, true)
        const routedInTraining = nativeMatmulWasmCalls() - wasmCalls
        wasmCalls = nativeMatmulWasmCalls()
        const head = asEvaluation(() => tf.matMul(h, E, false, true))
        const routed = nativeMatmulWasmCalls() - wasmCalls
        const deep = asEvaluation(() => tf.matMul(rand([64, 1024], 3), rand([1024, 64], 4)))
        return { routed, routedInTraining, training: training.dataSync() as Float32Array, head: head.dataSync() as Float32Array, deep: deep.dataSync() as Float32Array }
      })
    )
    expect(r.native.routedInTraining).toBe(0)
    expect(r.native.routed).toBe(1)
    expect(r.calls).toBe(2) // the training head and the K = 1024 product
    expectClose(r.native.head, r.wasm.head, 1e-5)
    expectClose(r.native.training, r.wasm.training, 1e-5)
    expectClose(r.native.deep, r.wasm.deep, 1e-4) // K = 1024 sums: MLAS and XNNPACK round differently
  })
})

describe('wasm-native row NLL (evaluation)', () => {
  it('2100 × 8000 logits (row × vocab + target past 2^24) give the tfjs NLL per row; the kernel runs; no tensor leaks', async () => {
    const n = 2100
    const V = 8000
    expect(n * V).toBeGreaterThan(2 ** 24)
    const rng = new Rng(5)
    const targets = Int32Array.from({ length: n }, () => rng.int(V))
    targets[n - 1] = V - 1 // the last element of the logits
    // logits in [−8, 8) from a JS generator (tfjs's randomNormal of 16.8M values takes seconds)
    const values = new Float32Array(n * V)
    for (let i = 0, x = 12345; i < values.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      values[i] = (x / 2 ** 32) * 16 - 8
    }
    const run = (): { nll: Float32Array; leaked: number } => {
      const logits = tf.tensor2d(values, [n, V])
      const before = tf.memory().numTensors
      const t = rowNll(logits, targets) // (no tidy around it: a tensor it forgot to dispose stays counted)
      const nll = t.dataSync() as Float32Array
      t.dispose()
      const leaked = tf.memory().numTensors - before
      logits.dispose()
      return { nll, leaked }
    }
    await backend('wasm')
    expect(nativeRowNll(tf.zeros([1, 2]) as tf.Tensor2D, Int32Array.of(0))).toBeNull() // plain wasm: the caller's tfjs path
    const wasm = run()
    await backend('wasm-native')
    const before = nativeRowNllCalls()
    const native = run()
    const again = run()
    expect(nativeRowNllCalls() - before).toBe(2)
    await backend('wasm')
    expect(native.nll.length).toBe(n)
    expectClose(native.nll, wasm.nll, 1e-5)
    expect([wasm.leaked, native.leaked, again.leaked]).toEqual([0, 0, 0])
    expect([...again.nll]).toEqual([...native.nll])
  }, 180_000) // 2 × 16.8M logits through tfjs-wasm: seconds alone, minutes on a loaded machine
})

describe('wasm-native training', () => {
  const toy = (B = 4, T = 16): number[] => Array.from({ length: B * T }, (_, i) => 5 + (((i % T) * 3 + Math.floor(i / T)) % 16))
  const batchFor = (kind: 'gpt' | 'bert', step: number): LossBatch => {
    if (kind === 'gpt') return { inputIds: ids2d(toy(), 4) }
    const m = maskTokens(Int32Array.from(toy()), { maskId: 3, vocabSize: 64, protectedIds: [0, 1, 2], seed: step, seqLen: 16, maskProb: 0.3 })
    return { inputIds: ids2d(m.inputIds, 4), labels: ids2d(m.labels, 4) }
  }
  const train = async (kind: 'gpt' | 'bert', steps: number): Promise<{ losses: number[]; tensors: number[] }> => {
    const model = new TransformerModel(tinyConfig(kind), { seed: 2 })
    const trainer = new Trainer(model, { schedule: { peak: 3e-3, warmupSteps: 2, totalSteps: 100 } })
    const losses: number[] = []
    const tensors: number[] = []
    for (let s = 0; s < steps; s++) {
      const b = batchFor(kind, s)
      const r = await trainer.trainStep([b])
      losses.push(r.loss, r.gradNorm)
      tf.dispose([b.inputIds, ...(b.labels ? [b.labels] : [])])
      tensors.push(tf.memory().numTensors)
    }
    trainer.dispose()
    model.dispose()
    return { losses, tensors }
  }

  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: losses and gradient norms over 8 steps equal wasm's; tensor count flat`, async () => {
      const r = await both(() => train(kind, 8))
      expectClose(r.native.losses, r.wasm.losses, 1e-5)
      expect(r.calls).toBeGreaterThan(8 * 10)
      const t = r.native.tensors
      expect(t.slice(2).every((n) => n === t[1])).toBe(true)
    })
  }
})
