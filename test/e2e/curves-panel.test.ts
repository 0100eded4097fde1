// End to end: the curves panel of the Compare view (runs.series drawn by ECharts) in a real Chromium: the x-axis
// switch with domain and growth markers, smoothing over the raw curve, grouping with a band, and zoom re-querying.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { Engine } from '../../src/main/engine/engine'
import type { BrowserServer } from '../../src/main/transports/http/server'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'
import { config, simulateRun } from '../engine/compare/fixtures'

const require = createRequire(import.meta.url)
let mode: BrowserMode
let engine: Engine
let server: BrowserServer
let browser: Browser

beforeAll(async () => {
  mode = await startBrowserMode()
  ;({ engine, server, browser } = mode)
})
afterAll(async () => mode?.close())

interface Drawn {
  xName: string
  series: Array<{ name: string; opacity: number | null; area: number | null; n: number; xs: number[] }>
  markers: Array<{ x: number; name: string }>
  zoom: Array<{ startValue?: number; endValue?: number }>
}

/** What the chart's ECharts instance draws (its option read back). */
async function drawn(page: Page, testid: string): Promise<Drawn> {
  return page.getByTestId(testid).evaluate((el) => {
    type Opt = {
      xAxis: Array<{ name: string }>
      series: Array<{
        name: string
        // flat x, y pairs (src/shared/charts/curves.ts), or [] for the marker series
        data: Float64Array | []
        lineStyle?: { opacity?: number }
        areaStyle?: { opacity?: number }
        markLine?: { data: Array<{ xAxis: number; name: string }> }
      }>
      dataZoom: Array<{ startValue?: number; endValue?: number }>
    }
    const chart = (el as unknown as { echart?: { getOption(): Opt } }).echart
    const o = chart!.getOption()
    return {
      xName: o.xAxis[0]!.name,
      series: o.series.map((s) => ({
        name: s.name,
        opacity: s.lineStyle?.opacity ?? null,
        area: s.areaStyle?.opacity ?? null,
        n: s.data.length / 2,
        xs: Array.from(s.data).filter((_, i) => i % 2 === 0)
      })),
      markers: o.series.flatMap((s) => (s.markLine?.data ?? []).map((m) => ({ x: m.xAxis, name: m.name }))),
      zoom: o.dataZoom.map((d) => ({ startValue: d.startValue, endValue: d.endValue }))
    }
  })
}

describe('curves panel in a real browser', () => {
  it('switches the x axis with markers, smooths over raw, groups seeds with a band, and re-queries a zoom', async () => {
    const stream = ['press', 'fiction', 'code']
    const elle = engine.createRun('elle-gpt', config('elle-gpt', stream, { grow: true }))
    simulateRun(engine.store, elle.id, stream, { secondsPerStep: [0.05, 0.1, 0.15], flopsPerStep: [1e10, 2e10, 3e10], params: [2e5, 4e5, 6e5], frw: 10, perStage: 10 })
    const seeds = [100, 110, 150].map((floor) => {
      const run = engine.createRun('naive-gpt', { ...config('naive-gpt', stream), training: { seed: floor } })
      simulateRun(engine.store, run.id, stream, { secondsPerStep: [0.1, 0.1, 0.1], flopsPerStep: [1e10, 1e10, 1e10], params: [2e5, 2e5, 2e5], floor, perStage: 10 })
      return run
    })
    for (const r of [elle, ...seeds]) (engine.setRunStatus(r.id, 'running'), engine.setRunStatus(r.id, 'finished'))

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(server.openUrl)
    await page.getByTestId('nav-compare').click()
    await page.getByTestId(`compare-pick-${elle.id}`).check()
    const chart = page.getByTestId('curve-ap_geo')
    await chart.waitFor()

    // markers at each domain start and growth, on the step axis, then in tokens (1,024 per step in the fixture)
    await expect.poll(async () => (await drawn(page, 'curve-ap_geo')).markers.length).toBe(5)
    const steps = await drawn(page, 'curve-ap_geo')
    expect(steps.xName).toBe('step')
    expect(steps.markers.map((m) => m.x)).toEqual([0, 100, 110, 210, 220])
    expect(steps.markers.map((m) => m.name)).toEqual([
      'press',
      expect.stringMatching(/^grow: 3 layers · 3 heads · d 96 · 400\.0k params$/),
      'fiction',
      expect.stringMatching(/^grow: 4 layers/),
      'code'
    ])
    await page.getByTestId('curves-x').selectOption('tokens')
    await expect.poll(async () => (await drawn(page, 'curve-ap_geo')).xName).toBe('tokens seen')
    expect((await drawn(page, 'curve-ap_geo')).markers.map((m) => m.x)).toEqual([0, 100, 110, 210, 220].map((s) => s * 1024))

    // smoothing: the smoothed line over a faded raw one
    await page.getByTestId('curves-smoothing').selectOption('ema')
    await expect.poll(async () => (await drawn(page, 'curve-ap_geo')).series.filter((s) => s.opacity === 0.3).length).toBe(1)
    const smoothed = await drawn(page, 'curve-ap_geo')
    expect(smoothed.series.filter((s) => s.opacity === 1)).toHaveLength(1)
    await page.getByTestId('curves-smoothing').selectOption('none')

    // grouping: three seeds of one experiment become one mean line with a 95% band
    for (const r of seeds) {
      await page.getByTestId(`compare-pick-${r.id}`).check()
      await page.getByTestId(`compare-row-${r.id}`).waitFor()
    }
    await expect.poll(async () => (await chart.getAttribute('data-lines'))?.split('|').length).toBe(4)
    await page.getByTestId('curves-group-by').selectOption('experiment')
    await expect.poll(() => chart.getAttribute('data-lines')).toBe('elle-gpt (1 run)|naive-gpt (3 runs)')
    expect(await page.getByTestId('curves-group-band').inputValue()).toBe('ci95')
    const grouped = await drawn(page, 'curve-ap_geo')
    // the band: a stacked area under the group's name (one run alone has no band)
    expect(grouped.series.filter((s) => s.area === 0.2).map((s) => s.name)).toEqual(['naive-gpt (3 runs)'])
    await page.getByTestId('curves-group-by').selectOption('none')
    await expect.poll(async () => (await chart.getAttribute('data-lines'))?.split('|').length).toBe(4)

    // zoom: the chart's range goes back to the engine, which answers with that range only
    const full = await drawn(page, 'curve-ap_geo')
    const [lo, hi] = [60 * 1024, 160 * 1024]
    await chart.evaluate(
      (el, [a, b]) => {
        const host = el as unknown as { echart?: { dispatchAction(a: object): void } }
        host.echart!.dispatchAction({ type: 'dataZoom', startValue: a, endValue: b })
      },
      [lo, hi] as const
    )
    await page.getByTestId('curves-zoom-out').waitFor()
    await expect.poll(async () => (await drawn(page, 'curve-ap_geo')).series[0]!.n).toBeLessThan(full.series[0]!.n)
    const zoomed = await drawn(page, 'curve-ap_geo')
    for (const s of zoomed.series.filter((x) => x.n > 0)) for (const x of s.xs) expect(x >= lo && x <= hi).toBe(true)
    await page.getByTestId('curves-zoom-out').click()
    await expect.poll(async () => (await drawn(page, 'curve-ap_geo')).series[0]!.n).toBe(full.series[0]!.n)
    // every control has a name (axe, on the panel with grouping controls shown)
    await page.getByTestId('curves-group-by').selectOption('method')
    await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'))
    const violations = await page.evaluate<string[]>(
      `axe.run(document.querySelector('[data-testid="curves-panel"]'), { resultTypes: ['violations'] }).then((r) =>
         r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ': ' + v.nodes[0].html.slice(0, 80)))`
    )
    expect(violations).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })

  it('sends the heavy runs.compare only after the curves were answered and drawn', async () => {
    const stream = ['press', 'fiction']
    const ids = [0, 1].map((i) => {
      const run = engine.createRun('order-gpt', { ...config('order-gpt', stream), training: { seed: 200 + i } })
      simulateRun(engine.store, run.id, stream, { secondsPerStep: [0.1, 0.1], flopsPerStep: [1e10, 1e10], params: [2e5, 2e5], floor: 100 + i, perStage: 10 })
      engine.setRunStatus(run.id, 'running')
      engine.setRunStatus(run.id, 'finished')
      return run.id
    })
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    // each API request's method as it leaves and as its answer is in
    const events: string[] = []
    const rpc = (url: string): string | null => (url.includes('/api/rpc/') ? url.slice(url.indexOf('/api/rpc/') + 9) : null)
    page.on('request', (r) => rpc(r.url()) && events.push(`sent ${rpc(r.url())}`))
    page.on('requestfinished', (r) => rpc(r.url()) && events.push(`done ${rpc(r.url())}`))
    await page.goto(server.openUrl)
    await page.getByTestId('nav-compare').click()
    await page.getByTestId(`compare-pick-${ids[0]}`).check()
    await page.getByTestId(`compare-row-${ids[0]}`).waitFor()
    await page.getByTestId(`compare-pick-${ids[1]}`).check()
    await page.getByTestId(`compare-row-${ids[1]}`).waitFor()
    const order = events.filter((e) => /runs\.(series|compare)$/.test(e))
    // per pick: the curves' request answered, then the comparison's
    expect(order).toEqual([
      'sent runs.series',
      'done runs.series',
      'sent runs.compare',
      'done runs.compare',
      'sent runs.series',
      'done runs.series',
      'sent runs.compare',
      'done runs.compare'
    ])
    await expect.poll(async () => (await page.getByTestId('curve-ap_geo').getAttribute('data-lines'))?.split('|').length).toBe(2)

    // a comparison answered while a curves redraw is pending is drawn after it: a run's update asks runs.compare again
    // (held in the network until the smoothing's runs.series has left, which is held in turn)
    const hold = () => {
      let release = (): void => undefined
      const held = new Promise<void>((resolve) => (release = resolve))
      return { held, release: () => release() }
    }
    const compareHeld = hold()
    const seriesHeld = hold()
    await page.route('**/api/rpc/runs.compare', async (route) => (await compareHeld.held, await route.continue()))
    await page.route('**/api/rpc/runs.series', async (route) => (await seriesHeld.held, await route.continue()))
    const compareSent = page.waitForRequest((r) => r.url().endsWith('/api/rpc/runs.compare'))
    engine.events.publish({ type: 'run.updated', run: engine.store.getRun(ids[0]!) })
    await compareSent
    const seriesSent = page.waitForRequest((r) => r.url().endsWith('/api/rpc/runs.series'))
    await page.getByTestId('curves-smoothing').selectOption('ema')
    await seriesSent
    const compareAnswered = page.waitForResponse((r) => r.url().endsWith('/api/rpc/runs.compare'))
    compareHeld.release()
    await compareAnswered
    // a few frames later the comparison is still waiting for the curves
    await page.evaluate(() => {
      const raf = (globalThis as unknown as { requestAnimationFrame(cb: () => void): void }).requestAnimationFrame
      return new Promise<void>((resolve) => raf(() => raf(() => setTimeout(resolve, 200))))
    })
    expect(await page.getByText('comparing…').isVisible()).toBe(true)
    seriesHeld.release()
    await page.getByText('comparing…').waitFor({ state: 'hidden' })
    expect(await page.getByTestId('curve-ap_geo').getAttribute('data-smoothed')).toBe('true')
    expect(errors).toEqual([])
    await page.close()
  })
})
