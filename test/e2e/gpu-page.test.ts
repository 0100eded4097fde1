// The GPU page (out/gpu-page, the page Electron's main process loads in a hidden window) in real Chromium with its own
// WebGPU: here Debian's Chromium, headless, gives a SwiftShader adapter (software Vulkan) on a loopback page (a secure
// context). The page is driven through its MessagePort protocol (src/shared/gpu-page.ts) exactly as Electron's main
// process drives it, and must train a tiny GPT and BERT as the same GpuSession does on wasm in Node.
// Skipped when Chromium has no WebGPU adapter, unless ELLE_REQUIRE_WEBGPU=1 (CI), where that fails instead.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GpuSession } from '../../src/main/engine/backend/gpu-page/session'
import { maskTokens } from '../../src/main/engine/model/masking'
import { learningRate } from '../../src/main/engine/model/optim'
import { Rng } from '../../src/main/engine/model/rng'
import { GpuInitResult, GpuResponse, GpuStepResult, GpuWeights, type GpuRequestInput } from '../../src/shared/gpu-page'
import { backend, tinyConfig } from '../engine/model/helpers'
import { openGpuPage, sendToPage } from '../helpers/gpu-page'

const chromium = await openGpuPage()
const { unavailable } = chromium
const page: Page | null = chromium.page

const B = 4
const T = 16
const SCHEDULE = { peak: 3e-3, warmupSteps: 1, totalSteps: 10 }

/** The requests of a tiny run (1 layer, hidden 16, 4 steps), as webgpu.test.ts trains on Dawn. */
function tinyRun(kind: 'gpt' | 'bert'): GpuRequestInput[] {
  const cfg = tinyConfig(kind, { layers: 1, heads: 2, headSize: 8, hidden: 16, ffn: 32, dropout: 0 })
  const steps = Array.from({ length: 4 }, (_, s): GpuRequestInput => {
    const rng = new Rng(10 + s)
    const ids = Int32Array.from({ length: B * T }, () => 5 + rng.int(cfg.vocabSize - 5))
    const micro =
      kind === 'gpt'
        ? { shape: [B, T] as [number, number], inputIds: ids }
        : (() => {
            const m = maskTokens(ids, { maskId: 3, vocabSize: cfg.vocabSize, protectedIds: [0, 1, 2, 3], seed: s, seqLen: T, maskProb: 0.3 })
            return { shape: [B, T] as [number, number], inputIds: m.inputIds, labels: m.labels }
          })()
    return { op: 'step', id: 1 + s, micro: [micro], lr: learningRate(s, SCHEDULE), seed: 7 }
  })
  return [{ op: 'init', id: 0, model: cfg, seed: 5, trainer: { clipNorm: 1 } }, ...steps, { op: 'readWeights', id: 5 }, { op: 'dispose', id: 6 }]
}

describe.skipIf(Boolean(unavailable))(`the GPU page in Chromium${unavailable ? ` (${unavailable})` : ''}`, () => {
  beforeAll(async () => {
    await backend('wasm')
  })
  afterAll(async () => {
    await chromium.close()
  })

  it('answers a request it cannot validate, or a step before init, with an error naming why', async () => {
    const bad = await sendToPage(page!, { op: 'step', id: 41, micro: [{ shape: [2, 3], inputIds: new Int32Array(5) }], lr: 1e-3, seed: 0 })
    expect(bad).toMatchObject({ id: 41, ok: false })
    expect(bad.ok ? '' : bad.error).toMatch(/^bad request: micro\.0.*rows x cols/)
    const early = await sendToPage(page!, { op: 'step', id: 42, micro: [{ shape: [1, 2], inputIds: new Int32Array(2) }], lr: 1e-3, seed: 0 })
    expect(early).toEqual({ id: 42, ok: false, error: 'no model: send init first' })
  })

  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: trained in the page on WebGPU, the losses and gradient norms are the wasm ones to 1e-4`, async () => {
      const requests = tinyRun(kind)
      const wasmSession = new GpuSession(async () => ({ vendor: '', architecture: '', device: '', description: 'wasm (reference)', software: true }))
      const wasm: GpuResponse[] = []
      for (const r of requests) wasm.push(await wasmSession.handle(structuredClone(r)))
      const gpu: GpuResponse[] = []
      for (const r of requests) gpu.push(await sendToPage(page!, r))
      for (const [i, r] of [...wasm, ...gpu].entries()) expect(r.ok, `response ${i}: ${r.ok ? '' : r.error}`).toBe(true)
      const ok = (r: GpuResponse): unknown => (r.ok ? r.result : null)

      const init = GpuInitResult.parse(ok(gpu[0]!))
      expect(init.backend).toBe('webgpu')
      expect(init.adapter.description || init.adapter.vendor).not.toBe('')

      const stepsOf = (rs: GpuResponse[]) => rs.slice(1, 5).map((r) => GpuStepResult.parse(ok(r)))
      const [w, g] = [stepsOf(wasm), stepsOf(gpu)]
      expect(w[3]!.loss).toBeLessThan(w[0]!.loss)
      for (let s = 0; s < 4; s++) {
        expect(g[s]!.lr).toBe(learningRate(s, SCHEDULE))
        expect(Math.abs(g[s]!.loss - w[s]!.loss), `step ${s} loss: webgpu ${g[s]!.loss}, wasm ${w[s]!.loss}`).toBeLessThan(1e-4)
        expect(Math.abs(g[s]!.gradNorm - w[s]!.gradNorm), `step ${s} grad norm: webgpu ${g[s]!.gradNorm}, wasm ${w[s]!.gradNorm}`).toBeLessThan(1e-4)
      }

      // the weights come back whole (every role, its shape) and close to the wasm ones
      const [ww, gw] = [GpuWeights.parse(ok(wasm[5]!)).weights, GpuWeights.parse(ok(gpu[5]!)).weights]
      expect(gw.map((x) => [x.role, x.shape])).toEqual(ww.map((x) => [x.role, x.shape]))
      let worst = 0
      gw.forEach((x, i) => x.data.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ww[i]!.data[j]!)))))
      expect(worst).toBeLessThan(1e-4)
    })
  }
})
