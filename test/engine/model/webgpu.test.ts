// The model on tfjs's WebGPU backend (Dawn's Node bindings). Here there is no GPU: Mesa's lavapipe
// (mesa-vulkan-drivers 25.x from bookworm-backports) gives a real, software WebGPU adapter; tiny shapes only.
// Skipped without an adapter, unless ELLE_REQUIRE_WEBGPU=1 (CI), where the missing adapter fails the test instead.
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeAdapter, noGpuDevice, probeWebGpu, registerWebGpuBackend, type WebGpuAdapterInfo } from '../../../src/main/engine/backend/webgpu'
import { maskTokens } from '../../../src/main/engine/model/masking'
import { type LossBatch, TransformerModel } from '../../../src/main/engine/model/model'
import { crossEntropy, rowNll } from '../../../src/main/engine/model/ops'
import { globalNorm } from '../../../src/main/engine/model/optim'
import { Trainer } from '../../../src/main/engine/model/train'
import { Rng } from '../../../src/main/engine/model/rng'
import { BackendReport } from '../../../src/shared/contract'
import { elle } from '../../cli/elle'
import { backend, tinyConfig } from './helpers'
import { tempDir } from '../../helpers/tmp'

const required = process.env.ELLE_REQUIRE_WEBGPU === '1'
let adapter: WebGpuAdapterInfo | null = null
let unavailable = ''
try {
  adapter = await probeWebGpu()
} catch (error) {
  unavailable = (error as Error).message
}
if (!adapter && required) throw new Error(`ELLE_REQUIRE_WEBGPU=1 but there is no WebGPU adapter: ${unavailable}`)

async function onWebGpu<T>(f: () => Promise<T>): Promise<T> {
  await registerWebGpuBackend()
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start the webgpu backend')
  try {
    return await f()
  } finally {
    await backend('wasm')
  }
}

const read = async (t: tf.Tensor): Promise<number> => {
  const v = (await t.data())[0]!
  t.dispose()
  return v
}

describe.skipIf(!adapter)(`webgpu (${adapter ? describeAdapter(adapter) : unavailable})`, () => {
  beforeAll(() => backend('wasm'))
  afterAll(() => backend('wasm'))

  it('globalNorm of more than 7 tensors is right (one addN of them exceeds the 8 storage buffers of a shader)', async () => {
    const values = Array.from({ length: 12 }, (_, i) => [i + 1, -(i + 2), 0.5 * i])
    const expected = Math.sqrt(values.flat().reduce((s, v) => s + v * v, 0))
    const norm = await onWebGpu(async () => {
      const ts = values.map((v) => tf.tensor1d(v))
      try {
        return await read(globalNorm(ts))
      } finally {
        tf.dispose(ts)
      }
    })
    expect(norm).toBeCloseTo(expected, 3)
  })

  it('cross-entropy is right when row * vocab + label passes 2^24 (a flat gather index loses it in float32)', async () => {
    // logits c at the label, 0 elsewhere: every row's loss is log(e^c + V - 1) - c
    const n = 2200
    const V = 8000
    expect(n * V).toBeGreaterThan(2 ** 24)
    const c = 6
    const rng = new Rng(3)
    const labels = Int32Array.from({ length: n }, () => rng.int(V))
    const expected = Math.log(Math.exp(c) + V - 1) - c
    const loss = await onWebGpu(async () => {
      const logits = tf.tidy(() => tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), V).toFloat(), c))
      try {
        return await read(crossEntropy(logits, labels))
      } finally {
        logits.dispose()
      }
    })
    expect(Math.abs(loss - expected)).toBeLessThan(1e-4)
  })

  it("evaluation's per-row NLL is right past 2^24 too (its target logits are gathered by row/column pairs)", async () => {
    const n = 2200
    const V = 8000
    const c = 6
    const rng = new Rng(4)
    const targets = Int32Array.from({ length: n }, () => rng.int(V))
    const expected = Math.log(Math.exp(c) + V - 1) - c
    const nll = await onWebGpu(async () => {
      const logits = tf.tidy(() => tf.mul(tf.oneHot(tf.tensor1d(targets, 'int32'), V).toFloat(), c) as tf.Tensor2D)
      const t = rowNll(logits, targets)
      try {
        return (await t.data()) as Float32Array
      } finally {
        tf.dispose([logits, t])
      }
    })
    let worst = 0
    for (const x of nll) worst = Math.max(worst, Math.abs(x - expected))
    expect(nll.length).toBe(n)
    expect(worst).toBeLessThan(1e-4)
  })

  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: training on webgpu gives the wasm losses to 1e-4`, async () => {
      const B = 4
      const T = 16
      const cfg = tinyConfig(kind, { layers: 1, heads: 2, headSize: 8, hidden: 16, ffn: 32, dropout: 0 })
      const batches = Array.from({ length: 4 }, (_, s) => {
        const rng = new Rng(10 + s)
        const ids = Int32Array.from({ length: B * T }, () => 5 + rng.int(cfg.vocabSize - 5))
        if (kind === 'gpt') return { inputIds: ids }
        const m = maskTokens(ids, { maskId: 3, vocabSize: cfg.vocabSize, protectedIds: [0, 1, 2, 3], seed: s, seqLen: T, maskProb: 0.3 })
        return { inputIds: m.inputIds, labels: m.labels }
      })
      const run = async (): Promise<number[]> => {
        const model = new TransformerModel(cfg, { seed: 5 })
        const trainer = new Trainer(model, { schedule: { peak: 3e-3, warmupSteps: 1, totalSteps: 10 } })
        const losses: number[] = []
        try {
          for (const b of batches) {
            const batch: LossBatch = {
              inputIds: tf.tensor2d(b.inputIds, [B, T], 'int32'),
              labels: b.labels ? tf.tensor2d(b.labels, [B, T], 'int32') : undefined,
              host: { inputIds: b.inputIds, labels: b.labels }
            }
            try {
              const r = await trainer.trainStep([batch])
              losses.push(r.loss, r.gradNorm)
            } finally {
              tf.dispose([batch.inputIds, ...(batch.labels ? [batch.labels] : [])])
            }
          }
        } finally {
          trainer.dispose()
          model.dispose()
        }
        return losses
      }
      await backend('wasm')
      const wasm = await run()
      const gpu = await onWebGpu(run)
      expect(wasm[wasm.length - 2]).toBeLessThan(wasm[0]!)
      gpu.forEach((v, i) => expect(Math.abs(v - wasm[i]!), `value ${i}: webgpu ${v}, wasm ${wasm[i]}`).toBeLessThan(1e-4))
    })
  }

  it('the backend choice: a software adapter is skipped (saying why) unless asked for by name; a hardware one comes after tensorflow-gpu', async () => {
    const [auto, forced] = await Promise.all([elle(['backend', '--json'], {}, 120_000), elle(['backend', '--json', '--backend', 'webgpu'], {}, 120_000)])
    const report = BackendReport.parse(JSON.parse(auto.stdout))
    const webgpu = report.candidates.find((c) => c.name === 'webgpu')!
    if (adapter!.software) {
      expect(webgpu.status).toBe('skipped')
      // without a GPU device node Dawn is not even asked (it would print warnings on stderr at every start)
      const why = noGpuDevice()
        ? /^webgpu: no GPU device \(.+\), so at most a software adapter; use it with --backend webgpu or ELLE_BACKEND=webgpu$/
        : /^webgpu: only a software adapter \(.+\), slower than the CPU backends; use it with --backend webgpu or ELLE_BACKEND=webgpu$/
      expect(webgpu.reason).toMatch(why)
      expect(auto.stderr).not.toMatch(/Warning/)
    } else expect(report.active === 'webgpu' || report.active === 'tensorflow-gpu').toBe(true)
    expect(forced.code, forced.stderr).toBe(0)
    expect(BackendReport.parse(JSON.parse(forced.stdout))).toMatchObject({ active: 'webgpu', requestedBy: 'flag' })
  })
})

describe('noGpuDevice: whether Dawn is worth asking for a hardware adapter', () => {
  it('on Linux, only when a render node or an NVIDIA device exists; on other systems always', () => {
    const dev = tempDir()
    expect(noGpuDevice('linux', dev)).toMatch(/^no GPU device \(.*renderD\*.*nvidia\*\), so at most a software adapter/)
    fs.mkdirSync(path.join(dev, 'dri'))
    fs.writeFileSync(path.join(dev, 'dri', 'card0'), '')
    expect(noGpuDevice('linux', dev)).not.toBeNull()
    fs.writeFileSync(path.join(dev, 'dri', 'renderD128'), '')
    expect(noGpuDevice('linux', dev)).toBeNull()
    const nv = tempDir()
    fs.writeFileSync(path.join(nv, 'nvidia0'), '')
    expect(noGpuDevice('linux', nv)).toBeNull()
    expect(noGpuDevice('darwin', tempDir())).toBeNull()
  })
})
