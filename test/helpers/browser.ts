import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { rendererDir } from '../../src/main/app-root'
import { createApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { startBrowserServer, type BrowserServer } from '../../src/main/transports/http/server'
import { tempEngine } from './engine'
import { tempDir } from './tmp'

export const CHROMIUM = process.env.ELLE_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Debian's Chromium, headless, with the flags that keep it off the (closed) network. `webgpu`: with Chromium's
 * WebGPU on (its SwiftShader adapter where there is no GPU) instead of no GPU process at all.
 */
export async function launchChromium(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}; install it (apt-get install -y chromium) or set ELLE_CHROMIUM`)
  const gpu = opts.webgpu ? ['--headless=new', '--enable-unsafe-webgpu'] : ['--headless', '--disable-gpu']
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...gpu, '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
  })
}

/** Browser mode on a temp store, plus Chromium: what the end-to-end tests drive. */
export interface BrowserMode {
  engine: Engine
  server: BrowserServer
  browser: Browser
  close(): Promise<void>
}

export async function startBrowserMode(): Promise<BrowserMode> {
  const engine = await tempEngine()
  const server = await startBrowserServer({
    handler: createApiHandler(engine, 'browser'),
    events: engine.events,
    rendererDir: rendererDir(),
    port: 0,
    uploadDir: path.join(tempDir(), 'uploads')
  })
  const browser = await launchChromium()
  return {
    engine,
    server,
    browser,
    close: async () => {
      await browser.close()
      await server.close()
      await engine.close()
    }
  }
}
