// End to end: the Compare view in a real Chromium against browser mode, on runs written into a temp store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import type { Engine } from '../../src/main/engine/engine'
import type { BrowserServer } from '../../src/main/transports/http/server'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'
import { config, simulateRun } from '../engine/compare/fixtures'

let mode: BrowserMode
let engine: Engine
let server: BrowserServer
let browser: Browser

beforeAll(async () => {
  mode = await startBrowserMode()
  ;({ engine, server, browser } = mode)
})
afterAll(async () => mode?.close())

describe('Compare view in a real browser', () => {
  it('plots AP against wall time and FLOPs, draws the heat maps and downstream table, states compute saved, and shows refusals', async () => {
    const stream = ['press', 'humanities', 'fiction']
    const finish = (id: number) => (engine.setRunStatus(id, 'running'), engine.setRunStatus(id, 'finished'))
    const elle = engine.createRun('elle-gpt', config('elle-gpt', stream, { grow: true }))
    simulateRun(engine.store, elle.id, stream, { secondsPerStep: [0.05, 0.1, 0.15], flopsPerStep: [1e10, 2e10, 3e10], params: [2e5, 4e5, 6e5], frw: 10, floor: 90 })
    const er = engine.createRun('er-gpt', config('er-gpt', stream, { replay: 0.1 }))
    simulateRun(engine.store, er.id, stream, { secondsPerStep: [0.2, 0.2, 0.2], flopsPerStep: [4e10, 4e10, 4e10], params: [6e5, 6e5, 6e5], floor: 120 })
    const other = engine.createRun('other-stream', config('other-stream', ['press', 'learned', 'fiction']))
    for (const r of [elle, er, other]) finish(r.id)
    engine.store.addEvaluations([0, 1].map((seed) => ({ runId: elle.id, task: 'spam-detection', domain: 'spam', metric: 'macro_f1', value: 0.8 + 0.02 * seed, seed })))

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const errors: string[] = []
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(server.openUrl)
    await page.getByTestId('nav-compare').click()
    await page.getByTestId(`compare-pick-${elle.id}`).check()
    await page.getByTestId(`stage-${elle.id}`).waitFor()
    await page.getByTestId(`compare-pick-${er.id}`).check()
    await page.getByTestId(`stage-${er.id}`).waitFor()

    const saved = page.getByTestId('compute-saved')
    await saved.filter({ hasText: `#${elle.id} elle (ELLE) reached the final AP of #${er.id} er` }).waitFor()
    expect(await saved.textContent()).toMatch(/saves \d+% of the wall time/)
    // one curve per run on each efficiency plot, the baseline dashed, markers where domains start and where ELLE grew
    for (const chart of ['curves-ap-wall', 'curves-ap-flops']) {
      const el = page.getByTestId(chart)
      await el.locator('canvas').first().waitFor()
      expect((await el.getAttribute('data-lines'))?.split('|')).toHaveLength(2)
      const dashed = await el.evaluate((e: unknown) => {
        const option = (e as { echart: { getOption(): { series: Array<{ name: string; lineStyle?: { type?: string } }> } } }).echart.getOption()
        return option.series.filter((s) => s.lineStyle?.type === 'dashed').map((s) => s.name)
      })
      expect(dashed).toEqual([expect.stringContaining(`#${er.id}`)])
      // 2 domain starts per run, and ELLE's 2 growths
      expect(await el.getAttribute('data-markers')).toBe('6')
    }
    // the curves panel (runs.series): one line per run on geometric AP, with its point count
    const curve = page.getByTestId('curve-ap_geo')
    await expect.poll(() => curve.getAttribute('data-lines')).toMatch(/\|/)
    expect((await curve.getAttribute('data-lines'))!.split('|')).toHaveLength(2)
    // the matrix of the first run: stage ends by default (3 x 3, 6 cells seen), every validation on request
    // (4 per stage + 2 warm-ups: 14 rows, 4·1 + 1 + 4·2 + 2 + 4·3 = 27 cells seen)
    const chart = page.getByTestId('matrix-chart')
    await expect.poll(() => chart.getAttribute('data-cells')).toBe('6')
    expect(await chart.getAttribute('data-rows')).toBe('3')
    await page.getByTestId('matrix-rows-all').click()
    await expect.poll(() => chart.getAttribute('data-cells')).toBe('27')
    expect(await chart.getAttribute('data-rows')).toBe('14')
    // summary and downstream tables
    expect(await page.getByTestId(`compare-row-${elle.id}`).textContent()).toContain('3/3')
    // differences between methods: hand-written metrics have no intervals, so one seed each is within noise
    const differences = await page.getByTestId('compare-differences').textContent()
    expect(differences).toContain('Differences between methods')
    expect(differences).toContain('within noise')
    expect(differences).toContain('Ranking by geometric AP')
    const downstream = await page.getByTestId('compare-downstream').textContent()
    expect(downstream).toContain('spam-detection')
    expect(downstream).toContain('0.810 ± 0.014')

    // a run of another stream: the engine's refusal, naming the field, in the view
    await page.getByTestId(`compare-pick-${other.id}`).check()
    await page
      .getByTestId('compare-error')
      .filter({ hasText: `runs ${elle.id} and ${other.id} have different streams: stages.1.domain is "humanities" vs "learned"` })
      .waitFor()
    expect(await page.getByTestId('compute-saved').count()).toBe(0)
    await page.getByTestId(`compare-pick-${other.id}`).uncheck()
    await page.getByTestId('compute-saved').waitFor()
    expect(await page.getByTestId('compare-error').count()).toBe(0)
    if (process.env.ELLE_COMPARE_SCREENSHOT) await page.screenshot({ path: process.env.ELLE_COMPARE_SCREENSHOT, fullPage: true })
    // the refused request shows up as Chromium's own resource-load line; nothing else may be logged
    expect(errors.filter((e) => !e.includes('status of 400 (Bad Request)'))).toEqual([])
    await page.close()
  })

  it('shows the first 12 compute-saved pairs and stage tables of many runs, and all of them when asked', async () => {
    const stream = ['press', 'fiction']
    const finish = (id: number) => (engine.setRunStatus(id, 'running'), engine.setRunStatus(id, 'finished'))
    const ids = Array.from({ length: 14 }, (_, i) => {
      const elle = i === 0
      const run = engine.createRun(`many-${i}`, { ...config(`many-${i}`, stream, elle ? { grow: true } : {}), training: { seed: 300 + i } })
      simulateRun(engine.store, run.id, stream, { secondsPerStep: [0.1, 0.1], flopsPerStep: [1e10, 1e10], params: [2e5, 2e5], floor: elle ? 90 : 100 + i, perStage: 10 })
      finish(run.id)
      return run.id
    })
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    await page.goto(server.openUrl)
    await page.getByTestId('nav-compare').click()
    for (const id of ids) await page.getByTestId(`compare-pick-${id}`).check()
    await page.getByTestId(`compare-row-${ids[13]}`).waitFor()
    const pairs = page.getByTestId('compute-saved-table').locator('tbody tr')
    const cards = page.getByTestId('stage-panel').locator('.stage-card')
    await expect.poll(() => pairs.count()).toBe(12)
    expect(await cards.count()).toBe(12)
    expect(await page.getByTestId('compute-saved-all').textContent()).toContain('show all 13 pairs (1 more)')
    await page.getByTestId('compute-saved-all').click()
    await expect.poll(() => pairs.count()).toBe(13)
    expect(await page.getByTestId('compute-saved-all').count()).toBe(0)
    await page.getByTestId('stage-all').click()
    await expect.poll(() => cards.count()).toBe(14)
    await page.close()
  })
})
