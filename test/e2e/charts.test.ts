// The chart component in a real Chromium, on the Compare view of two seeded runs: zoom reports a range in x
// units, a legend click hides a line, the tooltip gives an exact value, and the PNG and SVG buttons download
// files that are a PNG and well-formed SVG with the legend and the axis names.
import fs from 'node:fs'
import { runColor } from '../../src/shared/charts/palette'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { compareRuns } from '../../src/main/engine/compare'
import type { Engine } from '../../src/main/engine/engine'
import type { BrowserServer } from '../../src/main/transports/http/server'
import { formatExact } from '../../src/shared/charts/format'
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

/** The chart instance a chart's wrapper carries (read in the page). */
interface Chart {
  getOption(): { legend: Array<{ selected?: Record<string, boolean> }>; series: Array<{ name: string }> }
  convertToPixel(finder: { seriesIndex: number }, value: [number, number]): [number, number]
}

async function download(page: Page, testid: string): Promise<{ name: string; bytes: Buffer }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()])
  return { name: file.suggestedFilename(), bytes: fs.readFileSync((await file.path())!) }
}

describe('charts in a real browser', () => {
  it('zooms, toggles lines from the legend, shows exact values, and exports PNG and SVG', async () => {
    const stream = ['press', 'humanities', 'fiction']
    const elle = engine.createRun('elle-gpt', config('elle-gpt', stream, { grow: true }))
    simulateRun(engine.store, elle.id, stream, { secondsPerStep: [0.05, 0.1, 0.15], flopsPerStep: [1e10, 2e10, 3e10], params: [2e5, 4e5, 6e5], frw: 10, floor: 90 })
    const er = engine.createRun('er-gpt', config('er-gpt', stream, { replay: 0.1 }))
    simulateRun(engine.store, er.id, stream, { secondsPerStep: [0.2, 0.2, 0.2], flopsPerStep: [4e10, 4e10, 4e10], params: [6e5, 6e5, 6e5], floor: 120 })
    for (const r of [elle, er]) (engine.setRunStatus(r.id, 'running'), engine.setRunStatus(r.id, 'finished'))

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(server.openUrl)
    await page.getByTestId('nav-compare').click()
    await page.getByTestId(`compare-pick-${elle.id}`).check()
    await page.getByTestId(`compare-pick-${er.id}`).check()
    const chart = page.getByTestId('curves-ap-wall')
    await expect.poll(() => chart.getAttribute('data-lines')).toMatch(/\|/)
    const canvas = chart.locator('canvas').first()
    await canvas.scrollIntoViewIfNeeded()
    const names = (await chart.getAttribute('data-lines'))!.split('|')

    // the chart follows the app's dark theme (styles.css: --panel), the runs keep their colours
    expect(await chart.getAttribute('data-theme')).toBe('dark')
    const look = await chart.evaluate((e: unknown) => {
      const o = (e as { echart: { getOption(): { backgroundColor: unknown; series: Array<{ lineStyle?: { color?: string } }> } } }).echart.getOption()
      return { bg: o.backgroundColor, colors: o.series.map((s) => s.lineStyle?.color ?? null) }
    })
    expect(look.bg).toBe('#161d24')
    expect(look.colors).toEqual(expect.arrayContaining([runColor(elle.id), runColor(er.id)]))

    // tooltip: hover a point of the ELLE line; the tooltip names its exact value
    const compared = compareRuns(engine.store, [elle.id, er.id])
    const ap = compared.runs.find((r) => r.id === elle.id)!.ap
    // a value with decimals, so a rounded tooltip would not pass
    const point = ap.find((p) => !Number.isInteger(p.value))!
    const [px, py] = await chart.evaluate((e: unknown, p: [number, number]) => (e as { echart: Chart }).echart.convertToPixel({ seriesIndex: 0 }, p), [
      point.wallS,
      point.value
    ] as [number, number])
    const box = (await canvas.boundingBox())!
    await page.mouse.move(box.x + px, box.y + py)
    await expect.poll(() => chart.innerText()).toContain(formatExact(point.value))

    // zoom: the wheel over the plot reports the range shown, in seconds of wall time
    await page.mouse.wheel(0, -400)
    await expect.poll(() => chart.getAttribute('data-zoom')).toMatch(/^[\d.e+-]+,[\d.e+-]+$/)
    const [lo, hi] = (await chart.getAttribute('data-zoom'))!.split(',').map(Number) as [number, number]
    const last = Math.max(...compared.runs.flatMap((r) => r.ap.map((p) => p.wallS)))
    expect(lo).toBeLessThan(hi)
    expect(hi - lo).toBeLessThan(last)

    // legend: the first entry sits at the legend's top left; a click there hides that line (all its parts)
    await page.mouse.click(box.x + 10 + 11, box.y + 8 + 7)
    await expect.poll(() => chart.getAttribute('data-hidden')).toBe(names[0])
    const selected = await chart.evaluate((e: unknown) => (e as { echart: Chart }).echart.getOption().legend[0]!.selected ?? {})
    expect(selected[names[0]!]).toBe(false)

    // the keyboard does the same: 0 shows everything, + zooms in, 2 hides the second line
    await chart.getByRole('img').focus()
    await page.keyboard.press('0')
    await expect.poll(() => chart.getAttribute('data-zoom')).toBe('')
    await page.keyboard.press('+')
    await expect.poll(() => chart.getAttribute('data-zoom')).toMatch(/^[\d.e+-]+,[\d.e+-]+$/)
    await page.keyboard.press('2')
    await expect.poll(() => chart.getAttribute('data-hidden')).toBe(`${names[0]}|${names[1]}`)

    // exports: a PNG, and an SVG that parses back with the legend (and point counts) and the axis names
    const png = await download(page, 'curves-ap-wall-png')
    expect(png.name).toBe('AP-against-training-wall-time.png')
    expect([...png.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const svg = await download(page, 'curves-ap-wall-svg')
    expect(svg.name).toBe('AP-against-training-wall-time.svg')
    const parsed = (await page.evaluate(
      `(() => { const d = new DOMParser().parseFromString(${JSON.stringify(svg.bytes.toString('utf8'))}, 'image/svg+xml'); return { error: d.querySelector('parsererror')?.textContent ?? null, root: d.documentElement.nodeName, texts: [...d.querySelectorAll('text')].map((t) => t.textContent) } })()`
    )) as { error: string | null; root: string; texts: string[] }
    expect(parsed.error).toBeNull()
    expect(parsed.root).toBe('svg')
    expect(parsed.texts).toEqual(expect.arrayContaining(['AP against training wall time', 'training wall time', 'AP (perplexity)', `${names[0]} · ${ap.length} pts`]))
    // the heat map exports too
    const heat = await download(page, 'matrix-chart-svg')
    expect(heat.bytes.toString('utf8')).toContain('perplexity (log)')
    expect(errors).toEqual([])
  })
})
