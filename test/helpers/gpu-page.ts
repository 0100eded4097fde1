// The built GPU page (out/gpu-page) in real Chromium with its own WebGPU (Debian's Chromium, headless: a SwiftShader
// adapter), served from a loopback server (http://127.0.0.1 is a secure context: navigator.gpu exists there), and
// driven through its MessagePort protocol (src/shared/gpu-page.ts) exactly as Electron's main process drives it.
// `unavailable` says why Chromium has no WebGPU here (the tests then skip, unless ELLE_REQUIRE_WEBGPU=1).
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { GPU_PAGE_PORT_MESSAGE, type GpuRequestInput, type GpuResponse } from '../../src/shared/gpu-page'
import { launchChromium } from './browser'

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' }

/** The built page on a loopback server. */
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

/** In the page: a MessageChannel whose far end the page takes as its port, and `elleSend`, which awaits each answer. */
export async function connect(page: Page): Promise<void> {
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
    // typed arrays cross playwright's evaluate as typed arrays (playwright-core 1.65 serialises them both ways)
    ;(globalThis as Record<string, unknown>).elleSend = (req: { id: number }) =>
      new Promise((resolve) => {
        waiting.set(req.id, resolve)
        channel.port1.postMessage(req)
      })
  }, GPU_PAGE_PORT_MESSAGE)
}

/** Sends one request to the page; the answer as the Electron host would receive it (typed arrays and all). */
export async function sendToPage(page: Page, req: GpuRequestInput): Promise<GpuResponse> {
  return (await page.evaluate((r) => (globalThis as unknown as { elleSend(r: unknown): Promise<unknown> }).elleSend(r), req as unknown)) as GpuResponse
}

export interface GpuPageInChromium {
  browser: Browser | null
  page: Page | null
  /** why Chromium has no WebGPU page here ('' when it has) */
  unavailable: string
  /** another tab on the page, connected (a test may close it) */
  newPage(): Promise<Page>
  close(): Promise<void>
}

/** Chromium with WebGPU on the built GPU page, connected; throws only when ELLE_REQUIRE_WEBGPU=1 and it is unavailable. */
export async function openGpuPage(): Promise<GpuPageInChromium> {
  const pageDir = path.resolve('out/gpu-page')
  if (!fs.existsSync(path.join(pageDir, 'index.html'))) throw new Error(`${pageDir}/index.html is missing: run node scripts/build.mjs`)
  let browser: Browser | null = null
  let server: http.Server | null = null
  let page: Page | null = null
  let unavailable = ''
  let url = ''
  try {
    server = await serve(pageDir)
    browser = await launchChromium({ webgpu: true })
    page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`
    await page.goto(url)
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
  const close = async (): Promise<void> => {
    await browser?.close()
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  }
  if (unavailable) {
    await close()
    if (process.env.ELLE_REQUIRE_WEBGPU === '1') throw new Error(`ELLE_REQUIRE_WEBGPU=1 but ${unavailable}`)
    return {
      browser: null,
      page: null,
      unavailable,
      newPage: () => Promise.reject(new Error(unavailable)),
      close: async () => undefined
    }
  }
  await connect(page!)
  const newPage = async (): Promise<Page> => {
    const tab = await browser!.newPage()
    await tab.goto(url)
    await connect(tab)
    return tab
  }
  return { browser, page, unavailable, newPage, close }
}
