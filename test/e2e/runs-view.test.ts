// End to end: browser mode on a temp store, a real Chromium, runs inserted through the engine.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import type { Engine } from '../../src/main/engine/engine'
import type { BrowserServer } from '../../src/main/transports/http/server'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'

const require = createRequire(import.meta.url)
let mode: BrowserMode
let engine: Engine
let server: BrowserServer
let browser: Browser

beforeAll(async () => {
  mode = await startBrowserMode()
  ;({ engine, server, browser } = mode)
  const { ensureDefaultDomains } = await import('../../src/main/engine/training/data')
  await ensureDefaultDomains(engine.store, engine.dataDir) // already prepared by the global setup: registers it
})
afterAll(async () => mode?.close())

describe('Runs view in a real browser', () => {
  it('lists runs from the store and follows status changes pushed by the engine', async () => {
    const first = engine.createRun('gpt-tiny-press', { model: 'gpt', steps: 10 })
    const page = await browser.newPage()
    const consoleErrors: string[] = []
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
    page.on('pageerror', (e) => consoleErrors.push(e.message))

    await page.goto(server.openUrl)
    // the token left the address bar; the router names the default view (once the view's chunk is in: views load lazily)
    await page.waitForURL(`${server.url}#/runs`, { timeout: 5000 })
    await page.getByTestId(`run-row-${first.id}`).waitFor()
    expect(await page.getByTestId(`run-status-${first.id}`).textContent()).toContain('queued')
    await page.getByTestId('status-connection').filter({ hasText: 'connected' }).waitFor()

    // status bar: backend and store path from the real API
    expect(await page.getByTestId('status-backend').textContent()).toContain(engine.backend.active)
    expect(await page.getByTestId('status-matmul').textContent()).toContain(engine.backend.matmul.kernel)
    expect(await page.getByTestId('status-store').textContent()).toContain(engine.store.path)

    // a status change in the engine reaches the page without a reload
    engine.setRunStatus(first.id, 'running')
    await page.getByTestId(`run-status-${first.id}`).filter({ hasText: 'running' }).waitFor({ timeout: 5000 })
    engine.setRunStatus(first.id, 'failed', { error: 'loss became NaN at step 3' })
    await page.getByTestId(`run-status-${first.id}`).filter({ hasText: 'failed' }).waitFor({ timeout: 5000 })

    // a new run appears by itself
    const second = engine.createRun('bert-tiny-press', { model: 'bert', steps: 10 })
    await page.getByTestId(`run-row-${second.id}`).waitFor({ timeout: 5000 })

    // the detail panel shows the failure
    await page.getByTestId(`run-row-${first.id}`).click()
    await page.getByTestId('run-detail').filter({ hasText: 'loss became NaN at step 3' }).waitFor()

    // navigation between the frame's views
    await page.getByTestId('nav-streams').click()
    await page.getByTestId('streams-view').waitFor()
    await page.getByTestId('nav-schedules').click()
    await page.getByTestId('schedules-view').filter({ hasText: 'gpt-tiny-press' }).waitFor()
    await page.getByTestId('nav-compare').click()
    await page.getByTestId('compare-view').waitFor()

    expect(consoleErrors).toEqual([])
    await page.close()
  })

  it('keeps the place in the address: deep links, back and forward, reload, old links', async () => {
    const run = engine.createRun('routed-run', { model: 'gpt', steps: 12 }) // a config of its own: the same config is the same experiment
    const page = await browser.newPage()
    const consoleErrors: string[] = []
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
    page.on('pageerror', (e) => consoleErrors.push(e.message))
    const hash = () => new URL(page.url()).hash
    const active = () => page.locator('.nav-item[aria-current="page"]').getAttribute('data-testid')

    // a deep link with the token: the server trades the token for a cookie and the browser keeps the fragment
    await page.goto(`${server.openUrl}#/runs/run/${run.id}`)
    await page.getByTestId('run-detail').filter({ hasText: 'routed-run' }).waitFor()
    expect(new URL(page.url()).search).toBe('')
    expect(hash()).toBe(`#/runs/run/${run.id}`)

    // the views are links: each click is a history entry
    await page.getByTestId('nav-compare').click()
    await page.getByTestId('compare-view').waitFor()
    expect(hash()).toBe('#/compare')
    await page.getByTestId('nav-streams').click()
    await page.getByTestId('streams-view').waitFor()
    expect(await active()).toBe('nav-streams')
    await page.goBack()
    await page.getByTestId('compare-view').waitFor()
    expect(await active()).toBe('nav-compare')
    await page.goBack()
    await page.getByTestId('run-detail').filter({ hasText: 'routed-run' }).waitFor()
    expect(hash()).toBe(`#/runs/run/${run.id}`)
    await page.goForward()
    await page.getByTestId('compare-view').waitFor()

    // a reload shows the same place
    await page.goto(`${server.url}#/runs/run/${run.id}`)
    await page.reload()
    await page.getByTestId('run-detail').filter({ hasText: 'routed-run' }).waitFor()
    expect(await active()).toBe('nav-runs')
    await page.goto(`${server.url}#/schedules`)
    await page.reload()
    await page.getByTestId('schedules-view').waitFor()
    expect(await active()).toBe('nav-schedules')

    // old and malformed links land on the nearest place they name
    for (const [link, place] of [
      ['#schedules', '#/schedules'],
      ['#/compare/run/3', '#/compare'],
      ['#/runs/run/x', '#/runs'],
      ['#/runs/experiment/2', '#/runs'],
      ['#/nowhere', '#/runs']
    ] as const) {
      // a fresh load of the link (from another page: not a hash change within this one)
      await page.goto('about:blank')
      await page.goto(`${server.url}${link}`)
      await expect.poll(hash).toBe(place)
    }
    expect(consoleErrors).toEqual([])
    await page.close()
  })

  it("loads each view's code when the view is first shown: the queue's first address parses no chart library", async () => {
    const scriptBytes = async (hash: string): Promise<{ bytes: number; ready: string }> => {
      const page = await browser.newPage()
      const sizes: Array<Promise<number>> = []
      page.on('response', (r) => {
        if (r.request().resourceType() === 'script') sizes.push(r.body().then((b) => b.length))
      })
      await page.goto(`${server.openUrl}${hash}`)
      await page.getByTestId(hash === '#/queue' ? 'queue-view' : 'compare-view').waitFor()
      const ready = new URL(page.url()).hash
      const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0)
      await page.close()
      return { bytes, ready }
    }
    const queue = await scriptBytes('#/queue')
    const compare = await scriptBytes('#/compare')
    expect([queue.ready, compare.ready]).toEqual(['#/queue', '#/compare'])
    // ECharts is most of the compare view's code: the queue view, which draws no chart, comes without it
    expect(queue.bytes).toBeLessThan(compare.bytes / 2)
  })

  it('is driven from the keyboard: skip link, view shortcuts, the "?" help, focus moved into the view; axe finds nothing serious', async () => {
    const page = await browser.newPage()
    const consoleErrors: string[] = []
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
    page.on('pageerror', (e) => consoleErrors.push(e.message))
    const focused = () => page.evaluate<string>('document.activeElement?.dataset?.testid ?? document.activeElement?.id ?? ""')
    await page.goto(server.openUrl)
    await page.getByTestId('runs-view').waitFor()

    // the first Tab reaches the skip link, shown when focused; it moves focus to the view, not the route
    await page.keyboard.press('Tab')
    expect(await focused()).toBe('skip-link')
    expect((await page.getByTestId('skip-link').boundingBox())!.y).toBeGreaterThanOrEqual(0)
    await page.keyboard.press('Enter')
    expect(await focused()).toBe('main-content')
    expect(new URL(page.url()).hash).toBe('#/runs')

    // Alt+digit and "g" sequences open views, and focus follows into the view
    await page.getByTestId('nav-compare').focus()
    await page.keyboard.press('Alt+1')
    await page.getByTestId('streams-view').waitFor()
    expect(new URL(page.url()).hash).toBe('#/streams')
    await expect.poll(focused).toBe('main-content')
    await page.keyboard.press('g')
    await page.keyboard.press('d')
    await page.getByTestId('designer').waitFor()
    expect(new URL(page.url()).hash).toMatch(/^#\/schedules/)
    // letters typed into a field stay there
    await page.getByTestId('field-name').fill('')
    await page.getByTestId('field-name').focus()
    await page.keyboard.type('gr?')
    expect(await page.getByTestId('field-name').inputValue()).toBe('gr?')
    expect(await page.getByTestId('shortcut-help').isVisible()).toBe(false)
    await page.getByTestId('schedules-view').waitFor()
    await page.locator('#main-content').focus()

    // "?" opens the list of shortcuts as a modal dialog; Escape closes it
    await page.keyboard.press('?')
    await page.getByTestId('shortcut-help').filter({ hasText: 'Alt+5' }).waitFor()
    expect(await page.getByTestId('shortcut-help').textContent()).toContain('g c')
    await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')) // over the devtools protocol: the CSP allows no inline script
    const violations = await page.evaluate<string[]>(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) =>
         r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ' (' + v.nodes.length + '): ' + v.nodes[0].html.slice(0, 80)))`
    )
    expect(violations).toEqual([])
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByTestId('shortcut-help').isVisible()).toBe(false)
    await page.keyboard.press('Alt+4')
    await page.getByTestId('queue-view').waitFor()
    await page.keyboard.press('Alt+5')
    await page.getByTestId('compare-view').waitFor()
    await page.getByTestId('shortcut-help-open').click()
    await page.getByTestId('shortcut-help').waitFor()
    await page.getByTestId('shortcut-help-close').click()
    await expect.poll(() => page.getByTestId('shortcut-help').isVisible()).toBe(false)
    expect(consoleErrors).toEqual([])
    await page.close()
  })

  it('starts a training run from the Schedules view and shows its progress and curves', async () => {
    const page = await browser.newPage()
    const consoleErrors: string[] = []
    page.on('pageerror', (e) => consoleErrors.push(e.message))
    await page.goto(server.openUrl)
    await page.getByTestId('nav-schedules').click()
    await page.getByTestId('new-run-domain-press').waitFor() // the built-in stream is listed
    await page.getByTestId('new-run-name').fill('ui-started-run')
    // 16 steps: one validation every 2 (the form's steps/10, rounded), each over the whole press validation split,
    // which costs more than the training; 30 steps took the file ~12 s of CPU more
    await page.getByTestId('new-run-steps').fill('16')
    await page.getByTestId('new-run-domain-press').click()
    await page.getByTestId('new-run-start').click()

    await page.getByTestId('runs-view').waitFor()
    const run = engine.store.listRuns().find((r) => r.experimentName === 'ui-started-run')!
    expect(run).toBeDefined()
    await page.getByTestId(`run-row-${run.id}`).click()
    await page.getByTestId(`run-status-${run.id}`).filter({ hasText: 'finished' }).waitFor({ timeout: 120_000 })
    // the curves of the finished run are drawn from the store (runs.series): geometric AP, one validation every 2 of 16 steps
    await expect.poll(() => page.getByTestId('curve-ap_geo').getAttribute('data-points')).toBe('8')
    await page.getByTestId('curves-metrics').locator('[data-metric="loss"]').check()
    await expect.poll(() => page.getByTestId('curve-loss').getAttribute('data-points')).toBe('16')
    expect(consoleErrors).toEqual([])

    // a bad config is refused with the field named, and the form stays
    await page.getByTestId('nav-schedules').click()
    await page.getByTestId('new-run-steps').fill('99999999') // beyond the engine's limit
    await page.getByTestId('new-run-domain-press').click()
    // named as typed, by the shared schema, before anything is sent
    await page.getByTestId('new-run-issues').filter({ hasText: 'config: stages.0.steps: Too big' }).waitFor()
    await page.getByTestId('new-run-start').click()
    await page.getByTestId('schedule-error').filter({ hasText: 'stages.0.steps' }).waitFor()
    await page.close()
  }, 180_000) // a real 16-step run with 8 validations in a worker; 60 s was tight on 2 loaded cores

  it('refuses a browser that does not have the token', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const response = await page.goto(server.url)
    expect(response?.status()).toBe(401)
    expect(await page.textContent('body')).toContain('access token')
    const api = await page.evaluate(async () => {
      const r = await fetch('/api/rpc/runs.list', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
      return r.status
    })
    expect(api).toBe(401)
    const socket = await page.evaluate(
      (port) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/api/events`)
          ws.onopen = () => resolve('open')
          ws.onerror = () => resolve('refused')
        }),
      server.port
    )
    expect(socket).toBe('refused')
    await context.close()
  })
})
