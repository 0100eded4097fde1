// End to end: the Compare view's lifelong panels in a real Chromium — the matrix difference of two runs with
// signed values and intervals, a group mean, AP per stage end, downstream significance against a reference,
// and the exports (long CSV parsed back with its row count, the HTML report, LaTeX) as real downloads.
import type { Download } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import type { Engine } from '../../src/main/engine/engine'
import type { BrowserServer } from '../../src/main/transports/http/server'
import { CSV_COLUMNS, metricMatcher, parseCsv } from '../../src/shared/export/csv'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'
import { config, simulateRun } from '../engine/compare/fixtures'
import { writeIntervals } from '../engine/compare/intervals'

let mode: BrowserMode
let engine: Engine
let server: BrowserServer
let browser: Browser

beforeAll(async () => {
  mode = await startBrowserMode()
  ;({ engine, server, browser } = mode)
})
afterAll(async () => mode?.close())

async function text(download: Download): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

describe('lifelong panels in a real browser', () => {
  it('draws A − B with signed values, tests downstream against a reference, and exports CSV, HTML and LaTeX', async () => {
    const stream = ['press', 'fiction', 'learned']
    const finish = (id: number) => (engine.setRunStatus(id, 'running'), engine.setRunStatus(id, 'finished'))
    const elle = engine.createRun('elle-gpt', config('elle-gpt', stream, { grow: true }))
    simulateRun(engine.store, elle.id, stream, { secondsPerStep: [0.05, 0.1, 0.15], flopsPerStep: [1e10, 2e10, 3e10], params: [2e5, 4e5, 6e5], floor: 90 })
    const naive = engine.createRun('naive-gpt', config('naive-gpt', stream))
    simulateRun(engine.store, naive.id, stream, { secondsPerStep: [0.2, 0.2, 0.2], flopsPerStep: [4e10, 4e10, 4e10], params: [6e5, 6e5, 6e5], floor: 120 })
    for (const r of [elle, naive]) {
      writeIntervals(engine.store, r.id, 0.04)
      finish(r.id)
    }
    const scores = (runId: number, values: number[]) => values.map((value, seed) => ({ runId, task: 'topic', domain: 'press', metric: 'accuracy', value, seed }))
    engine.store.addEvaluations([...scores(elle.id, [0.71, 0.74, 0.69]), ...scores(naive.id, [0.62, 0.66, 0.6, 0.64])])

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true })
    const errors: string[] = []
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(server.openUrl)
    await page.getByTestId('nav-compare').click()
    await page.getByTestId(`compare-pick-${elle.id}`).check()
    await page.getByTestId(`compare-pick-${naive.id}`).check()
    await page.getByTestId(`stage-${naive.id}`).waitFor()

    // A − B of the two runs (A: ELLE, B: naive by default): ELLE's perplexities are lower, so the cells are negative
    await page.getByTestId('matrix-mode-diff').click()
    const chart = page.getByTestId('matrix-chart')
    await expect.poll(() => chart.getAttribute('data-cells')).toBe('6')
    await page.getByText('the matrix as a table').click()
    // after the first stage: 90 − 120 on press; intervals ±4%: −30 ∓ hypot(3.6, 4.8) = [−36, −24]
    expect((await page.getByTestId('matrix-cell-0-0').textContent())!.trim()).toBe('-30.0 [-36.0, -24.0]')
    type Host = { echart: { getOption(): { series: Array<{ data: Array<{ value: number[] }> }> } } }
    const drawn: number[] = await chart.evaluate((el) => (el as unknown as Host).echart.getOption().series[0]!.data.map((d) => d.value[3]!))
    expect(drawn).toHaveLength(6)
    expect(drawn.every((v) => v < 0)).toBe(true)
    // swapping A and B flips every sign
    await page.getByTestId('matrix-a').selectOption(`run:${naive.id}`)
    await expect.poll(async () => (await page.getByTestId('matrix-cell-0-0').textContent())!.trim()).toMatch(/^\+30\.0 /)
    // a group's mean over seeds (one run per method here: the run itself)
    await page.getByTestId('matrix-mode-group').click()
    await expect.poll(async () => (await page.getByTestId('matrix-a').locator('option').allTextContents()).join('|')).toBe('method elle (1 run)|method naive (1 run)')

    // AP per stage end with intervals
    expect(await page.getByTestId(`stage-${elle.id}`).locator('tbody tr').count()).toBe(3)
    expect(await page.getByTestId(`stage-${elle.id}`).textContent()).toMatch(/\d+\.\d \[\d+\.\d, \d+\.\d\]/)
    // tokens trained on at each stage end (the fixtures count 1024 per step: 100 steps per stage)
    expect(await page.getByTestId(`stage-${elle.id}`).locator('tbody tr').first().locator('td').nth(2).textContent()).toBe('102k')

    // downstream: ELLE best; against the naive reference, Welch's p (0.0098 by scipy) with n
    await page.getByTestId('downstream-reference').selectOption(String(naive.id))
    const downstream = page.getByTestId('compare-downstream')
    await downstream.filter({ hasText: 'p = 0.010 (n 3 vs 4)' }).waitFor()
    expect(await downstream.locator('td.best').textContent()).toContain('0.713')

    // compute saved with its interval
    expect(await page.getByTestId('compute-saved-table').textContent()).toMatch(/\d+% \[\d+%, \d+%\]/)

    // exports
    await page.getByTestId('export-toggle').click()
    const [csvFile] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()])
    expect(csvFile.suggestedFilename()).toBe(`elle-compare-${elle.id}-${naive.id}.csv`)
    const rows = parseCsv(await text(csvFile))
    expect(rows[0]).toEqual([...CSV_COLUMNS])
    const chosen = metricMatcher(['ppl/*', 'ppl_lo/*', 'ppl_hi/*', 'val_loss/*', 'ap', 'ap_lo', 'ap_hi', 'ap_geo', 'ap_geo_lo', 'ap_geo_hi', 'ap_plus', 'ap_plus_lo', 'ap_plus_hi'])
    const expected = [elle.id, naive.id].reduce((n, id) => n + engine.store.readMetrics(id).filter((p) => chosen(p.name)).length, 0)
    expect(rows.length - 1).toBe(expected)
    expect(new Set(rows.slice(1).map((r) => r[1]))).toEqual(new Set([`#${elle.id} elle`, `#${naive.id} naive`]))

    const [htmlFile] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-report').click()])
    const html = await text(htmlFile)
    expect(html).toContain(`#${elle.id} elle`)
    expect(html).toContain(`#${naive.id} naive`)

    const [texFile] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-latex-ap').click()])
    const tex = await text(texFile)
    expect(tex).toContain('\\toprule')
    expect(tex).toContain('elle-gpt')

    if (process.env.ELLE_LIFELONG_SCREENSHOT) {
      await page.getByTestId('matrix-mode-diff').click()
      for (const panel of ['matrix-panel', 'stage-panel', 'downstream-panel'])
        await page.getByTestId(panel).screenshot({ path: process.env.ELLE_LIFELONG_SCREENSHOT.replace(/\.png$/, `-${panel}.png`) })
    }
    expect(errors).toEqual([])
    await page.close()
  })
})
