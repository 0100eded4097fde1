// The GPU page (out/gpu-page, the page Electron's main process loads in a hidden window) in real Chromium with its own
// WebGPU: here Debian's Chromium, headless, gives a SwiftShader adapter (software Vulkan) on a loopback page (a secure
// context). The page is driven through its MessagePort protocol (src/shared/gpu-page.ts) exactly as Electron's main
// process drives it, and must train a tiny GPT and BERT as the same GpuSession does on wasm in Node.
// Skipped when Chromium has no WebGPU adapter, unless ELLE_REQUIRE_WEBGPU=1 (CI), where that fails instead.
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GpuSession } from '../../src/main/engine/backend/gpu-page/session'
import { maskTokens } from '../../src/main/engine/model/masking'
import { learningRate } from '../../src/main/engine/model/optim'
import { Rng } from '../../src/main/engine/model/rng'
import { GPU_PAGE_PORT_MESSAGE, GpuInitResult, GpuResponse, GpuStepResult, GpuWeights, type GpuRequestInput } from '../../src/shared/gpu-page'
import { backend, tinyConfig } from '../engine/model/helpers'
import { launchChromium } from '../helpers/browser'

const pageDir = path.resolve('out/gpu-page')
const required = process.env.ELLE_REQUIRE_WEBGPU === '1'

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' }

/** The built page on a loopback server (http://127.0.0.1 is a secure context: navigator.gpu exists there). */
function serve(dir: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname).replace(/^\/+/, '') || 'index.html'
    const file = path.resolve(dir, rel)
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file)) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/** In the page: a MessageChannel whose far end the page takes as its port, and a `send` that awaits each answer. */
async function connect(page: Page): Promise<void> {
  await page.waitForFunction(() => (globalThis as { elleGpuPage?: { ready: boolean } }).elleGpuPage?.ready === true)
  await page.evaluate((portMessage) => {
    // the browser's objects, typed here without the DOM library (the tests' tsconfig is Node's)
    interface BrowserPort {
      onmessage: ((e: { data: { id: number } }) => void) | null
      postMessage(message: unknown): void
    }
    const win = globalThis as unknown as {
      MessageChannel: new () => { port1: BrowserPort; port2: BrowserPort }
      postMessage(message: unknown, targetOrigin: string, transfer: unknown[]): void
    }
    const channel = new win.MessageChannel()
    const waiting = new Map<number, (r: unknown) => void>()
    channel.port1.onmessage = (e) => waiting.get(e.data.id)?.(e.data)
    win.postMessage(portMessage, '*', [channel.port2])
    // typed arrays cross playwright as plain arrays: rebuilt here on the way in, and flattened on the way out
    ;(globalThis as Record<string, unknown>).elleSend = (req: Record<string, unknown>) => {
      if (Array.isArray(req.micro))
        req.micro = (req.micro as Array<Record<string, unknown>>).map((m) => ({
          ...m,
          inputIds: Int32Array.from(m.inputIds as number[]),
          ...(m.labels ? { labels: Int32Array.from(m.labels as number[]) } : {})
        }))
      return new Promise((resolve) => {
        waiting.set(req.id as number, resolve)
        channel.port1.postMessage(req)
      }).then((r) => {
        const result = (r as { result?: { weights?: Array<{ data: Float32Array }> } }).result
        if (result?.weights) for (const w of result.weights) (w as { data: unknown }).data = Array.from(w.data)
        return r
      })
    }
  }, GPU_PAGE_PORT_MESSAGE)
}

/** Sends one request to the page; the answer, typed arrays restored, as the Electron host would receive it. */
async function sendToPage(page: Page, req: GpuRequestInput): Promise<GpuResponse> {
  const plain = JSON.parse(JSON.stringify(req, (_k, v: unknown) => (v instanceof Int32Array ? Array.from(v) : v))) as unknown
  const raw = (await page.evaluate((r) => (globalThis as unknown as { elleSend(r: unknown): Promise<unknown> }).elleSend(r), plain)) as GpuResponse
  if (raw.ok && raw.result && typeof raw.result === 'object' && 'weights' in raw.result) {
    const weights = (raw.result as { weights: Array<{ role: string; shape: number[]; data: number[] }> }).weights
    return { ...raw, result: { weights: weights.map((w) => ({ ...w, data: Float32Array.from(w.data) })) } }
  }
  return raw
}

let browser: Browser | null = null
let server: http.Server | null = null
let page: Page | null = null
let unavailable = ''
if (!fs.existsSync(path.join(pageDir, 'index.html'))) throw new Error(`${pageDir}/index.html is missing: run node scripts/build.mjs`)
try {
  server = await serve(pageDir)
  browser = await launchChromium({ webgpu: true })
  page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`)
  const probe = await page.evaluate(async () => {
    const gpu = (globalThis as unknown as { navigator: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator.gpu
    if (!gpu) return 'navigator.gpu is missing'
    return (await gpu.requestAdapter()) ? '' : 'requestAdapter() gave no adapter'
  })
  if (probe) unavailable = `Chromium has no WebGPU: ${probe}`
  if (errors.length) throw new Error(`the GPU page failed to load: ${errors.join('; ')}`)
} catch (error) {
  unavailable ||= (error as Error).message
}
if (unavailable) {
  await browser?.close()
  server?.close()
  if (required) throw new Error(`ELLE_REQUIRE_WEBGPU=1 but ${unavailable}`)
}

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
    await connect(page!)
  })
  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => server?.close(resolve))
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
