import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { IGNORE_INDEX } from '../../../src/main/engine/model/config'
import { maskTokens } from '../../../src/main/engine/model/masking'
import { type LossBatch, TransformerModel, isDecayed } from '../../../src/main/engine/model/model'
import { AdamW, learningRate } from '../../../src/main/engine/model/optim'
import { Trainer } from '../../../src/main/engine/model/train'
import { backend, ids2d, tinyConfig } from './helpers'

beforeAll(() => backend('wasm'))

const schedule = { peak: 3e-3, warmupSteps: 5, totalSteps: 200 }
// A learnable toy stream: 4 sequences, each a shifted cycle through ids 5..20.
const toy = (B = 4, T = 16): number[] => Array.from({ length: B * T }, (_, i) => 5 + (((i % T) * 3 + Math.floor(i / T)) % 16))

function gptBatch(): LossBatch {
  return { inputIds: ids2d(toy(), 4) }
}

function bertBatch(step: number): LossBatch {
  const m = maskTokens(Int32Array.from(toy()), { maskId: 3, vocabSize: 64, protectedIds: [0, 1, 2], seed: step, seqLen: 16, maskProb: 0.3 })
  return { inputIds: ids2d(m.inputIds, 4), labels: ids2d(m.labels, 4) }
}

const disposeBatch = (b: LossBatch): void => tf.dispose([b.inputIds, ...(b.labels ? [b.labels] : [])])

describe('learningRate', () => {
  it('warms up linearly, then decays linearly to the end value', () => {
    const s = { peak: 1, warmupSteps: 10, totalSteps: 110, end: 0.1 }
    expect(learningRate(0, s)).toBeCloseTo(0.1)
    expect(learningRate(9, s)).toBeCloseTo(1)
    expect(learningRate(10, s)).toBeCloseTo(1)
    expect(learningRate(60, s)).toBeCloseTo(0.55)
    expect(learningRate(110, s)).toBeCloseTo(0.1)
    expect(learningRate(1000, s)).toBeCloseTo(0.1)
  })
})

describe('Trainer', () => {
  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: loss falls on a learnable toy sequence`, async () => {
      const model = new TransformerModel(tinyConfig(kind), { seed: 1 })
      const trainer = new Trainer(model, { schedule })
      const losses: number[] = []
      for (let s = 0; s < 60; s++) {
        const b = kind === 'gpt' ? gptBatch() : bertBatch(s)
        losses.push((await trainer.trainStep([b])).loss)
        disposeBatch(b)
      }
      const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3
      const last = losses.slice(-3).reduce((a, b) => a + b) / 3
      expect(first).toBeGreaterThan(3.5) // ~ln(64) at init
      expect(last).toBeLessThan(0.5 * first)
      trainer.dispose()
      model.dispose()
    })
  }

  it('is reproducible: same seeds give identical losses (with dropout)', async () => {
    const run = async (): Promise<number[]> => {
      const model = new TransformerModel(tinyConfig('bert', { dropout: 0.1 }), { seed: 4 })
      const trainer = new Trainer(model, { schedule, seed: 11 })
      const out: number[] = []
      for (let s = 0; s < 6; s++) {
        const b = bertBatch(s)
        const r = await trainer.trainStep([b])
        out.push(r.loss, r.gradNorm)
        disposeBatch(b)
      }
      trainer.dispose()
      model.dispose()
      return out
    }
    const a = await run()
    expect(await run()).toEqual(a)
  })

  it('accumulating two micro-batches equals one step on their union', async () => {
    const ids = toy(4)
    const whole = ids2d(ids, 4)
    const halves = [ids2d(ids.slice(0, 32), 2), ids2d(ids.slice(32), 2)]
    const a = new TransformerModel(tinyConfig('gpt'), { seed: 2 })
    const b = new TransformerModel(tinyConfig('gpt'), { seed: 2 })
    const ta = new Trainer(a, { schedule })
    const tb = new Trainer(b, { schedule })
    const ra = await ta.trainStep([{ inputIds: whole }])
    const rb = await tb.trainStep(halves.map((inputIds) => ({ inputIds })))
    expect(rb.loss).toBeCloseTo(ra.loss, 5)
    expect(rb.gradNorm).toBeCloseTo(ra.gradNorm, 4)
    const wa = await a.readWeights()
    const wb = await b.readWeights()
    for (const name of Object.keys(wa)) {
      const x = wa[name]!.data
      const y = wb[name]!.data
      let worst = 0
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!))
      expect(worst, name).toBeLessThan(2e-5)
    }
    tf.dispose([whole, ...halves])
    ;[ta, tb].forEach((t) => t.dispose())
    ;[a, b].forEach((m) => m.dispose())
  })

  it('reports the pre-clip global gradient norm', async () => {
    const model = new TransformerModel(tinyConfig('gpt'), { seed: 2 })
    const b = gptBatch()
    const { grads } = tf.variableGrads(() => model.loss(b), [...model.params.values()])
    const expected = Math.sqrt(Object.values(grads).reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0]!, 0))
    tf.dispose(Object.values(grads))
    const r = await new Trainer(model, { schedule, clipNorm: 1e-3 }).trainStep([b])
    expect(r.gradNorm).toBeCloseTo(expected, 4)
    expect(r.lr).toBeCloseTo(learningRate(0, schedule))
    disposeBatch(b)
    model.dispose()
  })

  it('leaks no tensors: the count after step 10 equals the count after step 200', async () => {
    const model = new TransformerModel(tinyConfig('bert'), { seed: 1 })
    const trainer = new Trainer(model, { schedule, padId: 0 })
    const b = bertBatch(0)
    let at10 = 0
    for (let s = 1; s <= 200; s++) {
      await trainer.trainStep([b, b])
      if (s === 10) at10 = tf.memory().numTensors
    }
    expect(tf.memory().numTensors).toBe(at10)
    disposeBatch(b)
    trainer.dispose()
    model.dispose()
  })
})

describe('AdamW', () => {
  it('decays kernels but not LayerNorm parameters or biases', async () => {
    const model = new TransformerModel(tinyConfig('bert'), { seed: 1 })
    const opt = new AdamW(model.params, { weightDecay: 0.5, decay: isDecayed })
    const before = await model.readWeights()
    const zeros = new Map([...model.params].map(([n, v]) => [n, tf.zerosLike(v)]))
    opt.apply(zeros, 0.1)
    const after = await model.readWeights()
    expect(after['layers.0.attn.q.kernel']!.data[0]).toBeCloseTo(before['layers.0.attn.q.kernel']!.data[0]! * 0.95, 6)
    expect(after['embed.token']!.data[3]).toBeCloseTo(before['embed.token']!.data[3]! * 0.95, 6)
    expect(after['layers.0.ln1.gamma']!.data).toEqual(before['layers.0.ln1.gamma']!.data)
    expect(after['head.bias']!.data).toEqual(before['head.bias']!.data)
    tf.dispose([...zeros.values()])
    opt.dispose()
    model.dispose()
  })

  it('getState/setState restore the moments and step exactly', async () => {
    const make = (): [TransformerModel, Trainer] => {
      const m = new TransformerModel(tinyConfig('gpt'), { seed: 5 })
      return [m, new Trainer(m, { schedule })]
    }
    const [m1, t1] = make()
    const b = gptBatch()
    await t1.trainStep([b])
    await t1.trainStep([b])
    const [m2, t2] = make()
    m2.setWeights(await m1.readWeights())
    t2.optimizer.setState(await t1.optimizer.readState())
    expect(t2.optimizer.step).toBe(2)
    const r1 = await t1.trainStep([b])
    const r2 = await t2.trainStep([b])
    expect(r2.loss).toBe(r1.loss)
    expect((await m2.readWeights())['layers.1.ffn.out.kernel']!.data).toEqual((await m1.readWeights())['layers.1.ffn.out.kernel']!.data)
    const bad = await t1.optimizer.readState()
    bad.m['embed.token'] = { shape: [2, 2], data: new Float32Array(4) }
    expect(() => t2.optimizer.setState(bad)).toThrow(/m\.embed\.token has shape \[2,2\]/)
    disposeBatch(b)
    ;[t1, t2].forEach((t) => t.dispose())
    ;[m1, m2].forEach((m) => m.dispose())
  })
})

// keep IGNORE_INDEX import meaningful: the toy BERT batches do carry ignored positions
it('toy BERT batches mix targets and ignored positions', () => {
  const b = bertBatch(0)
  const l = b.labels!.dataSync()
  expect(l.some((v) => v === IGNORE_INDEX)).toBe(true)
  expect(l.some((v) => v !== IGNORE_INDEX)).toBe(true)
  disposeBatch(b)
})

describe('backends', () => {
  it('the same training code gives the same losses on cpu and wasm', async () => {
    const run = async (kind: 'gpt' | 'bert'): Promise<number[]> => {
      const model = new TransformerModel(tinyConfig(kind), { seed: 3 })
      const trainer = new Trainer(model, { schedule })
      const out: number[] = []
      for (let s = 0; s < 3; s++) {
        const b = kind === 'gpt' ? gptBatch() : bertBatch(s)
        out.push((await trainer.trainStep([b])).loss)
        disposeBatch(b)
      }
      trainer.dispose()
      model.dispose()
      return out
    }
    try {
      await backend('cpu')
      const cpu = [...(await run('gpt')), ...(await run('bert'))]
      await backend('wasm')
      const wasm = [...(await run('gpt')), ...(await run('bert'))]
      wasm.forEach((l, i) => expect(l).toBeCloseTo(cpu[i]!, 4))
      expect(cpu[2]).toBeLessThan(cpu[0]!)
    } finally {
      await backend('wasm')
    }
  })
})
