// The Electron host of the GPU page (src/main/electron/gpu-window.ts) against the electron test double: the hidden
// window's options, the built page's CSP, the port handed over through the real GPU preload, the protocol's
// validation on the host side, and the fallback when the page cannot start WebGPU. The page end of the port is
// played here by the page's own GpuSession on wasm (the real-Chromium run is test/e2e/gpu-page.test.ts).
import fs from 'node:fs'
import path from 'node:path'
import * as electron from 'electron'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { GpuSession } from '../../src/main/engine/backend/gpu-page/session'
import { gpuWindowCandidate, gpuWindowOptions, openGpuWindow, probeGpuWindow, startGpuWindow, type GpuProbeOptions, type GpuWindow } from '../../src/main/electron/gpu-window'
import type { BackendReport, HostBackendCandidate } from '../../src/shared/contract'
import { GPU_PAGE_PORT_CHANNEL, GPU_PAGE_PORT_MESSAGE, type GpuAdapter } from '../../src/shared/gpu-page'
import { backend, tinyConfig } from '../engine/model/helpers'
import type { BrowserWindow as WindowDouble, MessagePortMain as PortDouble } from '../doubles/electron'

const Window = electron.BrowserWindow as unknown as typeof WindowDouble
const page = '/app/out/gpu-page/index.html'
const preload = '/app/out/preload/gpu.cjs'
const SWIFTSHADER: GpuAdapter = { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader', software: true }
const HARDWARE: GpuAdapter = { vendor: 'nvidia', architecture: 'ampere', device: 'RTX 3060', description: '', software: false }

/** The page end of the newest window's port: answers each request with `answer` (default: a GpuSession on wasm). */
function playPage(answer?: (req: { id: number; op: string }) => unknown): PortDouble {
  const win = Window.all[Window.all.length - 1]!
  const sent = win.webContents.posted.find((p) => p.channel === GPU_PAGE_PORT_CHANNEL)
  const port = sent!.transfer[0]! as unknown as PortDouble
  const session = new GpuSession(async () => SWIFTSHADER)
  let queue = Promise.resolve()
  port.on('message', (e) => {
    const req = (e as { data: { id: number; op: string } }).data
    queue = queue.then(async () => port.postMessage(answer ? answer(req) : await session.handle(req)))
  })
  port.start()
  return port
}

const open: GpuWindow[] = []
afterEach(() => {
  for (const gpu of open.splice(0)) gpu.close()
})

describe('the GPU window (Electron host of the GPU page)', () => {
  beforeAll(() => backend('wasm'))
  afterAll(() => backend('wasm'))

  it('is hidden, sandboxed, isolated, without Node, never throttled, and stays on its page', async () => {
    const gpu = await openGpuWindow(page, preload)
    open.push(gpu)
    const win = gpu.window as unknown as WindowDouble
    expect(win.options).toMatchObject({ show: false, webPreferences: { preload, sandbox: true, contextIsolation: true, nodeIntegration: false, backgroundThrottling: false } })
    expect(gpuWindowOptions(preload)).toEqual(win.options)
    expect(win.loadedFile).toBe(page)
    expect(win.shown).toBe(false)
    expect(win.webContents.tryNavigate('https://example.com/')).toBe(true)
    expect(win.webContents.windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' })
  })

  it('the built page has a strict CSP: its own script only, no eval, no inline code, no connections', () => {
    const html = fs.readFileSync(path.resolve('out/gpu-page/index.html'), 'utf8')
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? ''
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/) as [string, ...string[]])
        .map(([k, ...v]) => [k, v])
    )
    expect(directives.get('default-src')).toEqual(["'none'"])
    expect(directives.get('script-src')).toEqual(["'self'"])
    expect(directives.get('connect-src')).toEqual(["'none'"])
    expect(csp).not.toMatch(/unsafe|\*/)
    // one script, bundled next to the page
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([expect.stringMatching(/^<script type="module" crossorigin src="\.\/assets\/[\w-]+\.js">$/)])
  })

  it('the GPU preload hands the page the port main sent, as a window message, once', async () => {
    const posted: Array<[unknown, string, unknown[]]> = []
    const g = globalThis as { postMessage?: unknown }
    g.postMessage = (message: unknown, origin: string, transfer: unknown[]) => posted.push([message, origin, transfer])
    try {
      await import('../../src/preload/gpu')
      const gpu = await openGpuWindow(page, preload)
      open.push(gpu)
      const port = (gpu.window as unknown as WindowDouble).webContents.posted[0]!.transfer[0]
      expect(posted).toEqual([[GPU_PAGE_PORT_MESSAGE, '*', [port]]])
    } finally {
      delete g.postMessage
    }
  })

  it('trains through the port: init, steps and weights come back validated', async () => {
    const gpu = await openGpuWindow(page, preload)
    open.push(gpu)
    playPage()
    const cfg = tinyConfig('gpt', { layers: 1, heads: 2, headSize: 8, hidden: 16, ffn: 32 })
    const init = await gpu.request({ op: 'init', model: cfg, seed: 5 })
    expect(init).toEqual({ backend: 'wasm', adapter: SWIFTSHADER })
    const ids = Int32Array.from({ length: 2 * 8 }, (_, i) => 5 + ((i * 7) % 50))
    const losses: number[] = []
    for (let s = 0; s < 3; s++) {
      const r = await gpu.request({ op: 'step', micro: [{ shape: [2, 8], inputIds: ids }], lr: 1e-2, seed: 1 })
      expect(r).toMatchObject({ lr: 1e-2, step: s + 1 })
      losses.push(r.loss)
    }
    expect(losses[2]).toBeLessThan(losses[0]!)
    const { weights } = await gpu.request({ op: 'readWeights' })
    expect(weights.find((w) => w.role === 'embed.token')?.data).toBeInstanceOf(Float32Array)
    await expect(gpu.request({ op: 'dispose' })).resolves.toEqual({})
    await expect(gpu.request({ op: 'readWeights' })).rejects.toThrow('no model: send init first')
  })

  it('rejects what the page answers outside the protocol, and everything waiting when the renderer dies', async () => {
    const gpu = await openGpuWindow(page, preload)
    open.push(gpu)
    const answers: unknown[] = [{ loss: 'low', gradNorm: 1, penalty: 0, lr: 0, step: 1 }, { vendor: 'x' }]
    playPage((req) => (req.op === 'readWeights' ? { nonsense: true } : { id: req.id, ok: true, result: answers.shift() }))
    await expect(gpu.request({ op: 'step', micro: [{ shape: [1, 2], inputIds: new Int32Array(2) }], lr: 0, seed: 0 })).rejects.toThrow(
      /^the GPU page's answer to step is not valid: loss: /
    )
    await expect(gpu.request({ op: 'adapter' })).rejects.toThrow(/^the GPU page's answer to adapter is not valid: /)
    // an answer without an id cannot be routed: whatever waits fails, and so does everything after
    await expect(gpu.request({ op: 'readWeights' })).rejects.toThrow(/^the GPU page sent an invalid answer/)
    await expect(gpu.request({ op: 'adapter' })).rejects.toThrow(/^the GPU page sent an invalid answer/)

    const gpu2 = await openGpuWindow(page, preload)
    open.push(gpu2)
    // a page that never answers
    const waiting = gpu2.request({ op: 'adapter' })
    ;(gpu2.window as unknown as WindowDouble).webContents.emit('render-process-gone', {}, { reason: 'crashed' })
    await expect(waiting).rejects.toThrow("the GPU page's renderer is gone (crashed)")
  })

  it('falls back with the reason when the page cannot start WebGPU; a software adapter only when asked for', async () => {
    const before = Window.all.length
    const start = startGpuWindow(page, preload)
    // once the page has its port, it answers as page.ts does where Chromium gives no adapter
    while (!Window.all[before]?.webContents.posted.length) await new Promise((resolve) => setImmediate(resolve))
    playPage((req) => ({ id: req.id, ok: false, error: 'WebGPU has no adapter here' }))
    const failed = await start
    expect(failed).toEqual({ ok: false, reason: 'WebGPU has no adapter here' })
    expect(Window.all.length).toBe(before + 1)
    expect(Window.all[before]!.isDestroyed()).toBe(true)
    expect(gpuWindowCandidate(failed, true, 'wasm')).toEqual({
      name: 'webgpu',
      package: "electron (Chromium's WebGPU in a hidden window)",
      status: 'failed',
      reason: "webgpu (Electron's Chromium): the GPU window could not start WebGPU: WebGPU has no adapter here; asked for by name, training uses wasm instead",
      host: { label: 'Chromium window', device: null, trains: false }
    })

    const gpu = null as unknown as GpuWindow
    const soft = { ok: true as const, gpu, adapter: SWIFTSHADER }
    expect(gpuWindowCandidate(soft, false, 'wasm')).toMatchObject({
      status: 'skipped',
      reason: "webgpu (Electron's Chromium): only a software adapter (SwiftShader, software), slower than the CPU backends; use it with --backend webgpu or ELLE_BACKEND=webgpu",
      host: { label: 'Chromium window', device: 'SwiftShader, software', trains: false }
    })
    expect(gpuWindowCandidate(soft, true, 'wasm-native')).toMatchObject({
      status: 'available',
      reason:
        "webgpu (Electron's Chromium): SwiftShader, software is available, but this engine was not given the window to train on: asked for by name, training uses wasm-native instead"
    })
    expect(gpuWindowCandidate({ ok: true, gpu, adapter: HARDWARE }, false, 'wasm')).toMatchObject({
      status: 'available',
      reason: expect.stringMatching(/: nvidia ampere RTX 3060 is available, but this engine was not given the window to train on: training uses wasm$/),
      host: { device: 'nvidia ampere RTX 3060', trains: false }
    })
    // handed to the engine (attachGpuPage): it trains; a software adapter only when asked for by name
    expect(gpuWindowCandidate({ ok: true, gpu, adapter: HARDWARE }, false, 'wasm-native', true)).toEqual({
      name: 'webgpu',
      package: "electron (Chromium's WebGPU in a hidden window)",
      status: 'available',
      reason:
        "webgpu (Electron's Chromium): nvidia ampere RTX 3060 trains: runs compute their gradients on the GPU window, their worker keeps the model, the optimizer and validation on wasm-native",
      host: { label: 'Chromium window', device: 'nvidia ampere RTX 3060', trains: true }
    })
    expect(gpuWindowCandidate(soft, true, 'wasm', true)).toMatchObject({ reason: expect.stringMatching(/on wasm \(asked for by name\)$/), host: { trains: true } })
    expect(gpuWindowCandidate(soft, false, 'wasm', true)).toMatchObject({ status: 'skipped', host: { trains: false } })
  })

  it('the probe keeps the window only with something to offer, reports its entry, and never throws', async () => {
    const reported: HostBackendCandidate[] = []
    const engine = { backend: { active: 'wasm' } as BackendReport, reportHostBackend: (entry: HostBackendCandidate) => reported.push(entry) }
    /** runs one probe whose page answers `adapter` (or fails), as page.ts does */
    const probe = async (adapter: GpuAdapter | null, forced: boolean, eng: GpuProbeOptions['engine'] = engine) => {
      const before = Window.all.length
      const kept = probeGpuWindow({ page, preload, forced, engine: eng, log: () => undefined })
      while (!Window.all[before]?.webContents.posted.length) await new Promise((resolve) => setImmediate(resolve))
      playPage((req) => (adapter ? { id: req.id, ok: true, result: adapter } : { id: req.id, ok: false, error: 'no adapter' }))
      const gpu = await kept
      if (gpu) open.push(gpu)
      return { gpu, window: Window.all[before]! }
    }
    const hardware = await probe(HARDWARE, false)
    expect(hardware.gpu?.window).toBe(hardware.window)
    expect(hardware.window.isDestroyed()).toBe(false)
    expect(reported.pop()).toMatchObject({ name: 'webgpu', status: 'available', host: { device: 'nvidia ampere RTX 3060', trains: false } })

    const software = await probe(SWIFTSHADER, false)
    expect(software.gpu).toBeNull()
    expect(software.window.isDestroyed()).toBe(true)
    expect(reported.pop()).toMatchObject({ status: 'skipped', host: { device: 'SwiftShader, software' } })

    const asked = await probe(SWIFTSHADER, true)
    expect(asked.window.isDestroyed()).toBe(false)
    expect(reported.pop()).toMatchObject({ status: 'available', reason: expect.stringContaining('asked for by name, training uses wasm instead') })

    const none = await probe(null, true)
    expect(none.gpu).toBeNull()
    expect(none.window.isDestroyed()).toBe(true)
    expect(reported.pop()).toMatchObject({ status: 'failed', host: { device: null } })

    // an engine that trains on the window: it gets the window's relay and the entry says it trains; when the renderer
    // dies, the engine gets the window back (null) and the entry says why
    const relays: Array<{ device: string } | null> = []
    const training = { ...engine, attachGpuPage: (relay: { device: string } | null) => relays.push(relay) }
    const trained = await probe(HARDWARE, false, training)
    expect(relays).toEqual([expect.objectContaining({ device: 'nvidia ampere RTX 3060' })])
    expect(reported.pop()).toMatchObject({ status: 'available', reason: expect.stringContaining('nvidia ampere RTX 3060 trains: '), host: { trains: true } })
    ;(trained.window as unknown as WindowDouble).webContents.emit('render-process-gone', {}, { reason: 'crashed' })
    expect(relays).toEqual([expect.anything(), null])
    expect(reported.pop()).toMatchObject({
      status: 'failed',
      reason: "webgpu (Electron's Chromium): the GPU window stopped (the GPU page's renderer is gone (crashed)); runs started from now on train on wasm",
      host: { device: 'nvidia ampere RTX 3060', trains: false }
    })

    // an engine that refuses the entry: the probe still resolves (with the window it kept)
    const refusing = {
      backend: engine.backend,
      reportHostBackend: () => {
        throw new Error('closed')
      }
    }
    await expect(probe(HARDWARE, false, refusing)).resolves.toMatchObject({ gpu: expect.anything() })
  })
})
