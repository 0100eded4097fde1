// Each hand-written gradient in ops.ts against tfjs autodiff of a plain formula (cpu backend, where the
// plain versions work), and each op on wasm against the same op on cpu.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as ops from '../../../src/main/engine/model/ops'
import { backend } from './helpers'

type Fn = (...xs: tf.Tensor[]) => tf.Tensor

/** Value and gradients of sum(f(xs) * w) with a fixed random w, so every output element matters. */
function valueAndGrads(f: Fn, xs: tf.Tensor[]): { value: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const y0 = f(...xs)
    const w = tf.randomNormal(y0.shape, 0, 1, 'float32', 42)
    const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs)
    return { value: y0.dataSync() as Float32Array, grads: g.map((t) => t.dataSync() as Float32Array) }
  })
}

function expectClose(a: Float32Array, b: Float32Array, tol: number): void {
  expect(a.length).toBe(b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)))
  expect(worst).toBeLessThan(tol)
}

function compare(ours: Fn, ref: Fn, xs: tf.Tensor[], tol = 1e-4): void {
  const a = valueAndGrads(ours, xs)
  const b = valueAndGrads(ref, xs)
  expectClose(a.value, b.value, tol)
  a.grads.forEach((g, i) => expectClose(g, b.grads[i]!, tol))
}

const rnd = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed)
const labels = Int32Array.from([3, 0, 7, 7, 1, 5])
const ids = (): tf.Tensor => tf.tensor1d([2, 0, 2, 5, 1, 2, 4], 'int32')

const geluRef: Fn = (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))))
const lnRef: Fn = (x, g, b) => {
  const { mean, variance } = tf.moments(x, -1, true)
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b)
}
const ceRef: Fn = (z) => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), 8), tf.logSoftmax(z)), -1)))

// name -> [ours, reference, inputs]
const cases: Record<string, [Fn, Fn, () => tf.Tensor[]]> = {
  'matmul 2d': [ops.matmul, (a, b) => tf.matMul(a, b), () => [rnd([5, 3], 1), rnd([3, 4], 2)]],
  'matmul 3d (batched)': [ops.matmul, (a, b) => tf.matMul(a, b), () => [rnd([3, 5, 4], 3), rnd([3, 4, 6], 4)]],
  'matmulBT (a @ b^T)': [ops.matmulBT, (a, b) => tf.matMul(a, b, false, true), () => [rnd([5, 3], 17), rnd([7, 3], 18)]],
  linear: [ops.linear, (x, k, b) => tf.add(tf.matMul(x, k), b), () => [rnd([6, 4], 5), rnd([4, 3], 6), rnd([3], 7)]],
  addRowVector: [ops.addRowVector, (x, b) => tf.add(x, b), () => [rnd([6, 4], 8), rnd([4], 9)]],
  layerNorm: [(x, g, b) => ops.layerNorm(x, g, b), lnRef, () => [rnd([6, 8], 10), rnd([8], 11), rnd([8], 12)]],
  gelu: [ops.gelu, geluRef, () => [tf.mul(rnd([5, 7], 13), 3)]],
  crossEntropy: [(z) => ops.crossEntropy(z, labels), ceRef, () => [tf.mul(rnd([6, 8], 14), 4)]],
  gatherRows: [(t) => ops.gatherRows(t, ids()), (t) => tf.gather(t, ids()), () => [rnd([6, 3], 15)]],
  'gatherRows, JS scatter-add gradient': [(t) => ops.gatherRows(t, ids(), true), (t) => tf.gather(t, ids()), () => [rnd([6, 3], 16)]]
}

describe('ops: hand-written gradients vs autodiff of plain formulas (cpu)', () => {
  beforeAll(() => backend('cpu'))
  for (const [name, [ours, ref, inputs]] of Object.entries(cases)) {
    it(name, () => {
      const xs = inputs()
      compare(ours, ref, xs)
      tf.dispose(xs)
    })
  }

  it('gelu is the tanh form of GELU (within 1e-3 of the erf form)', () => {
    const x = tf.linspace(-6, 6, 101)
    const exact = tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))))
    expect(tf.max(tf.abs(tf.sub(ops.gelu(x), exact))).dataSync()[0]).toBeLessThan(1e-3)
  })

  it('crossEntropy stays finite for extreme logits', () => {
    const z = tf.tensor2d([[100, -100, 0]])
    const v = ops.crossEntropy(z, Int32Array.from([1])).dataSync()[0]
    expect(Number.isFinite(v)).toBe(true)
    expect(v).toBeGreaterThan(60)
  })
})

describe('ops on wasm agree with cpu', () => {
  const cpuResults = new Map<string, { value: Float32Array; grads: Float32Array[] }>()
  beforeAll(async () => {
    await backend('cpu')
    for (const [name, [ours, , inputs]] of Object.entries(cases)) {
      const xs = inputs()
      cpuResults.set(name, valueAndGrads(ours, xs))
      tf.dispose(xs)
    }
    await backend('wasm')
  })
  afterAll(() => backend('wasm'))

  for (const [name, [ours, , inputs]] of Object.entries(cases)) {
    it(name, () => {
      const xs = inputs() // same seeds -> same values on both backends
      const r = valueAndGrads(ours, xs)
      const c = cpuResults.get(name)!
      expectClose(r.value, c.value, 1e-4)
      r.grads.forEach((g, i) => expectClose(g, c.grads[i]!, 1e-4))
      tf.dispose(xs)
    })
  }

  it('batched matmul kernel handles the attention shapes', () => {
    const a = rnd([8, 16, 4], 21)
    const b = rnd([8, 4, 16], 22)
    expect(tf.getBackend()).toBe('wasm')
    const ours = ops.rawMatmul(a, b)
    const ref = tf.tidy(() => tf.stack(tf.unstack(a).map((ai, i) => tf.matMul(ai, tf.unstack(b)[i]!))))
    expectClose(ours.dataSync() as Float32Array, ref.dataSync() as Float32Array, 1e-5)
    tf.dispose([a, b, ours, ref])
  })

  it('ops leave no tensors behind after a gradient', () => {
    const x = rnd([4, 8], 30)
    const k = rnd([8, 8], 31)
    const f = (): void => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(ops.gelu(ops.layerNorm(ops.matmul(a, b), tf.onesLike(b.slice([0, 0], [1, 8]).reshape([8])), tf.zeros([8])))))([
        x,
        k
      ])
      tf.dispose(g)
    }
    f()
    const before = tf.memory().numTensors
    for (let i = 0; i < 5; i++) f()
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose([x, k])
  })
})
