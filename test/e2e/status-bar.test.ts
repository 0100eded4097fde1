// The status bar in a real Chromium (browser mode on a temp store): a backend entry the engine's host reports after
// start (Electron's GPU window, docs/webgpu.md) appears by itself, pushed as one event, without the page asking again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HostBackendCandidate } from '../../src/shared/contract'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'

let mode: BrowserMode
beforeAll(async () => {
  mode = await startBrowserMode()
})
afterAll(async () => mode?.close())

describe('the status bar', () => {
  it("shows the host's backend entry when it is reported, with why training does not use it, and asks nothing more", async () => {
    const { engine, server, browser } = mode
    const page = await browser.newPage()
    const consoleErrors: string[] = []
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
    page.on('pageerror', (e) => consoleErrors.push(e.message))
    const infoRequests: string[] = []
    page.on('request', (r) => r.url().endsWith('/api/rpc/system.info') && infoRequests.push(r.url()))

    await page.goto(server.openUrl)
    await page.getByTestId('status-connection').filter({ hasText: 'connected' }).waitFor()
    await page.getByTestId('status-backend').filter({ hasText: engine.backend.active }).waitFor()
    expect(await page.getByTestId('status-host-backend').count()).toBe(0)
    const asked = infoRequests.length

    const reason = `webgpu (Electron's Chromium): nvidia ampere RTX 3060 is available, but training on the GPU window is not wired yet: training uses ${engine.backend.active}`
    const entry: HostBackendCandidate = {
      name: 'webgpu',
      package: "electron (Chromium's WebGPU in a hidden window)",
      status: 'available',
      reason,
      host: { label: 'Chromium window', device: 'nvidia ampere RTX 3060', trains: false }
    }
    engine.reportHostBackend(entry)
    const shown = page.getByTestId('status-host-backend')
    await shown.filter({ hasText: 'WebGPU (Chromium window): nvidia ampere RTX 3060 — available, not used for training yet' }).waitFor({ timeout: 5000 })
    expect(await shown.getAttribute('title')).toBe(reason)

    // a later entry (the window failed) replaces it, and the backend's tooltip lists it with the other skipped ones
    engine.reportHostBackend({
      ...entry,
      status: 'failed',
      reason: "webgpu (Electron's Chromium): the GPU window could not start WebGPU: no adapter",
      host: { ...entry.host, device: null }
    })
    await shown.filter({ hasText: 'WebGPU (Chromium window): no adapter — failed' }).waitFor({ timeout: 5000 })
    expect(await page.getByTestId('status-backend').getAttribute('title')).toContain("webgpu: webgpu (Electron's Chromium): the GPU window could not start WebGPU: no adapter")
    expect(await shown.count()).toBe(1)

    expect(infoRequests.length).toBe(asked) // pushed, not fetched again
    expect(consoleErrors).toEqual([])
    await page.close()
  })
})
