import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { IGNORE_INDEX } from '../../../src/main/engine/model/config'
import { TransformerModel, parameterShapes } from '../../../src/main/engine/model/model'
import { backend, ids2d, maxAbsDiff, tinyConfig } from './helpers'

const models: TransformerModel[] = []
const make = (...args: ConstructorParameters<typeof TransformerModel>): TransformerModel => {
  const m = new TransformerModel(...args)
  models.push(m)
  return m
}

beforeAll(() => backend('wasm'))
afterEach(() => {
  for (const m of models.splice(0)) m.dispose()
})

/** Plain reference: mean CE of [n,V] logits rows against labels. */
function manualCE(logits: tf.Tensor2D, rows: number[], targets: number[]): number {
  return tf.tidy(() => {
    const lp = tf.logSoftmax(tf.gather(logits, tf.tensor1d(rows, 'int32')))
    const picked = tf.sum(tf.mul(lp, tf.oneHot(tf.tensor1d(targets, 'int32'), logits.shape[1])), -1)
    return -tf.mean(picked).dataSync()[0]!
  })
}

describe('parameters', () => {
  it('are named by role with the documented shapes', () => {
    const bert = parameterShapes(tinyConfig('bert'))
    expect(bert.get('embed.token')).toEqual([64, 32])
    expect(bert.get('embed.position')).toEqual([16, 32])
    expect(bert.get('embed.ln.gamma')).toEqual([32])
    expect(bert.get('layers.1.attn.q.kernel')).toEqual([32, 32])
    expect(bert.get('layers.1.attn.o.bias')).toEqual([32])
    expect(bert.get('layers.0.ffn.in.kernel')).toEqual([32, 128])
    expect(bert.get('layers.0.ffn.out.kernel')).toEqual([128, 32])
    expect(bert.get('layers.0.ln2.beta')).toEqual([32])
    expect(bert.get('head.dense.kernel')).toEqual([32, 32])
    expect(bert.get('head.ln.gamma')).toEqual([32])
    expect(bert.get('head.bias')).toEqual([64])
    expect(bert.has('final.ln.gamma')).toBe(false)
    const gpt = parameterShapes(tinyConfig('gpt'))
    expect(gpt.get('final.ln.gamma')).toEqual([32])
    expect([...gpt.keys()].some((k) => k.startsWith('head.') || k.startsWith('embed.ln'))).toBe(false)
    // no separate output matrix: the output is tied to embed.token
    expect([...bert.keys(), ...gpt.keys()].filter((k) => k.includes('output') || k.includes('decoder'))).toEqual([])
  })

  it('paramCount sums all shapes', () => {
    const m = make(tinyConfig('bert'))
    let n = 0
    for (const s of parameterShapes(m.config).values()) n += s.reduce((a, b) => a * b, 1)
    expect(m.paramCount()).toBe(n)
  })

  it('init is deterministic from the seed: N(0, 0.02) kernels, zero biases, unit gammas', async () => {
    const a = await make(tinyConfig('gpt'), { seed: 3 }).readWeights()
    const b = await make(tinyConfig('gpt'), { seed: 3 }).readWeights()
    const c = await make(tinyConfig('gpt'), { seed: 4 }).readWeights()
    expect(a['layers.0.attn.q.kernel']!.data).toEqual(b['layers.0.attn.q.kernel']!.data)
    expect(a['layers.0.attn.q.kernel']!.data).not.toEqual(c['layers.0.attn.q.kernel']!.data)
    const e = a['embed.token']!.data
    const std = Math.sqrt(e.reduce((s, v) => s + v * v, 0) / e.length)
    expect(std).toBeGreaterThan(0.018)
    expect(std).toBeLessThan(0.022)
    expect(a['layers.1.ffn.in.bias']!.data.every((v) => v === 0)).toBe(true)
    expect(a['final.ln.gamma']!.data.every((v) => v === 1)).toBe(true)
  })

  it('setWeights copies a model exactly and rejects a wrong shape, naming the tensor', async () => {
    const a = make(tinyConfig('bert'), { seed: 1 })
    const b = make(tinyConfig('bert'), { seed: 2 })
    const x = ids2d([5, 6, 7, 8, 9, 10], 2)
    b.setWeights(await a.readWeights())
    const la = a.logits(x)
    const lb = b.logits(x)
    expect(maxAbsDiff(la, lb)).toBe(0)
    const w = await a.readWeights()
    w['layers.1.ffn.out.kernel'] = { shape: [32, 128], data: new Float32Array(32 * 128) }
    expect(() => b.setWeights(w)).toThrow(/layers\.1\.ffn\.out\.kernel has shape \[32,128\].*expected \[128,32\]/)
    const w2 = await a.readWeights()
    delete w2['head.bias']
    expect(() => b.setWeights(w2)).toThrow(/missing \[head\.bias\]/)
    tf.dispose([x, la, lb])
  })
})

describe('forward', () => {
  it('GPT is causal: changing a later token leaves earlier logits unchanged', () => {
    const m = make(tinyConfig('gpt'), { seed: 1 })
    const a = m.logits(ids2d([5, 6, 7, 8, 9, 10, 11, 12], 1))
    const b = m.logits(ids2d([5, 6, 7, 8, 9, 40, 11, 12], 1))
    expect(maxAbsDiff(a.slice([0, 0, 0], [1, 5, 64]), b.slice([0, 0, 0], [1, 5, 64]))).toBe(0)
    expect(maxAbsDiff(a.slice([0, 5, 0], [1, 1, 64]), b.slice([0, 5, 0], [1, 1, 64]))).toBeGreaterThan(1e-4)
    tf.dispose([a, b])
  })

  it('BERT is bidirectional, and padded keys are ignored', () => {
    const m = make(tinyConfig('bert'), { seed: 1 })
    const a = m.logits(ids2d([5, 6, 7, 8, 9], 1))
    const b = m.logits(ids2d([5, 6, 7, 8, 30], 1))
    expect(maxAbsDiff(a.slice([0, 0, 0], [1, 1, 64]), b.slice([0, 0, 0], [1, 1, 64]))).toBeGreaterThan(1e-4)
    // the same sequence right-padded with pad id 0: real positions must not change
    const padded = m.logits(ids2d([5, 6, 7, 8, 9, 0, 0, 0], 1), { padId: 0 })
    expect(maxAbsDiff(a, padded.slice([0, 0, 0], [1, 5, 64]))).toBeLessThan(1e-5)
    const unmasked = m.logits(ids2d([5, 6, 7, 8, 9, 0, 0, 0], 1))
    expect(maxAbsDiff(a, unmasked.slice([0, 0, 0], [1, 5, 64]))).toBeGreaterThan(1e-4)
    tf.dispose([a, b, padded, unmasked])
  })

  it('mlmLoss is the cross-entropy over labelled positions only', () => {
    const m = make(tinyConfig('bert'), { seed: 1 })
    const inputIds = ids2d([5, 3, 7, 8, 3, 10, 11, 12, 13, 3, 15, 16], 2)
    const lab = new Int32Array(12).fill(IGNORE_INDEX)
    lab[1] = 20
    lab[4] = 21
    lab[9] = 22
    const labels = ids2d(lab, 2)
    const loss = m.mlmLoss({ inputIds, labels }).dataSync()[0]
    const logits = m.logits(inputIds).reshape([12, 64]) as tf.Tensor2D
    expect(loss).toBeCloseTo(manualCE(logits, [1, 4, 9], [20, 21, 22]), 5)
    tf.dispose([inputIds, labels, logits])
  })

  it('lmLoss predicts the next token', () => {
    const m = make(tinyConfig('gpt'), { seed: 1 })
    const seq = [5, 6, 7, 8, 9, 10, 11, 12]
    const inputIds = ids2d(seq, 1)
    const loss = m.lmLoss({ inputIds }).dataSync()[0]
    const logits = m.logits(inputIds).reshape([8, 64]) as tf.Tensor2D
    expect(loss).toBeCloseTo(manualCE(logits, [0, 1, 2, 3, 4, 5, 6], seq.slice(1)), 5)
    tf.dispose([inputIds, logits])
  })

  it('the output layer is tied: tokens absent from the input still get a gradient through it', () => {
    for (const kind of ['bert', 'gpt'] as const) {
      const m = make(tinyConfig(kind), { seed: 1 })
      const inputIds = ids2d([5, 6, 7, 8], 1)
      const labels = ids2d([5, 6, 7, 8], 1)
      const emb = m.params.get('embed.token')!
      const g = tf.grad(() => m.loss({ inputIds, labels }))(emb as unknown as tf.Tensor)
      const row = g.slice([50, 0], [1, 32]) // id 50 is neither input nor target
      expect(tf.max(tf.abs(row)).dataSync()[0]).toBeGreaterThan(1e-6)
      tf.dispose([inputIds, labels, g, row])
    }
  })

  it('dropout is active only in training and reproducible from the seed', () => {
    const m = make(tinyConfig('bert', { dropout: 0.2 }), { seed: 1 })
    const x = ids2d([5, 6, 7, 8, 9, 10], 1)
    const evalA = m.logits(x)
    const evalB = m.logits(x, { seed: 9 })
    const t1 = m.logits(x, { training: true, seed: 7 })
    const t2 = m.logits(x, { training: true, seed: 7 })
    const t3 = m.logits(x, { training: true, seed: 8 })
    expect(maxAbsDiff(evalA, evalB)).toBe(0)
    expect(maxAbsDiff(t1, t2)).toBe(0)
    expect(maxAbsDiff(t1, t3)).toBeGreaterThan(1e-4)
    expect(maxAbsDiff(t1, evalA)).toBeGreaterThan(1e-4)
    tf.dispose([x, evalA, evalB, t1, t2, t3])
  })

  it('rejects sequences longer than maxLength', () => {
    const m = make(tinyConfig('gpt'), { seed: 1 })
    const x = ids2d(new Array(17).fill(5), 1)
    expect(() => m.logits(x)).toThrow(/exceeds maxLength 16/)
    x.dispose()
  })
})
