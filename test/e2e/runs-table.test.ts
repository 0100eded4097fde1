// The runs table in a real Chromium: the filter query narrows the rows and shows its parse error inline, a config
// column is chosen and sorted by keyboard, a run is tagged and noted, runs are selected (config diff), and a saved
// view's link opened in a new page shows the same selection and table, in the Runs and in the Compare view.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { Engine } from '../../src/main/engine/engine'
import type { MetricPoint } from '../../src/main/engine/store/store'
import type { BrowserServer } from '../../src/main/transports/http/server'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'
import { createApiHandler } from '../../src/main/engine/api/handler'
import { SavedView } from '../../src/shared/contract'

let mode: BrowserMode
let engine: Engine
let server: BrowserServer
let browser: Browser
beforeAll(async () => {
  mode = await startBrowserMode()
  ;({ engine, server, browser } = mode)
})
afterAll(async () => mode?.close())

const config = (method: string, seed: number, lr: number) => ({
  name: `${method}-s${seed}`,
  model: { kind: 'gpt', layers: 1 },
  training: { lr, seed },
  method: { name: method },
  stages: [{ domain: 'press', steps: 4 }]
})
const apGeo = (runId: number, value: number): MetricPoint => ({
  runId,
  phase: { kind: 'train', stage: 0, domain: 'press' },
  step: 4,
  tokensSeen: 400,
  wallS: 1,
  flops: 1e9,
  name: 'ap_geo',
  value
})

async function shownRows(page: Page): Promise<number[]> {
  const ids = await page.locator('[data-testid^="run-row-"]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-testid')!.slice('run-row-'.length))))
  return ids
}

describe('runs table', () => {
  it('filters, chooses columns, tags, selects, and saves a view whose link restores it', async () => {
    const a = engine.createRun('elle-s0', config('elle', 0, 0.001))
    const b = engine.createRun('elle-s5', config('elle', 5, 0.003))
    const c = engine.createRun('ewc-s1', config('ewc', 1, 0.002))
    engine.store.insertMetrics([apGeo(a.id, 41.5), apGeo(b.id, 39), apGeo(c.id, 52)])

    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    await page.goto(server.openUrl)
    await page.getByTestId(`run-row-${a.id}`).waitFor()
    await expect.poll(() => shownRows(page)).toEqual([c.id, b.id, a.id])
    expect(await page.getByTestId(`run-cell-${b.id}-final.ap_geo`).textContent()).toBe('39')

    // the filter query narrows the rows; a broken one says where, and filters nothing
    await page.getByTestId('runs-filter').fill('method = elle and seed < 3')
    await expect.poll(() => shownRows(page)).toEqual([a.id])
    await page.getByTestId('runs-filter').fill('method = elle and seed <')
    await page.getByTestId('runs-filter-error').filter({ hasText: 'expected a value after "<" at 25' }).waitFor()
    expect(await page.getByTestId('runs-filter').getAttribute('aria-invalid')).toBe('true')
    await expect.poll(() => shownRows(page)).toEqual([c.id, b.id, a.id])
    await page.getByTestId('runs-filter').fill('method = elle')
    await expect.poll(() => shownRows(page)).toEqual([b.id, a.id])
    expect(await page.getByTestId('runs-filter-error').textContent()).toBe('')

    // a config column from the chooser, sorted from the keyboard (Enter on its header: ascending, again: descending)
    await page.getByTestId('runs-columns-toggle').click()
    await page.getByTestId('runs-columns-find').fill('training.lr')
    await page.getByTestId('runs-column-config.training.lr').check()
    await page.getByTestId('runs-columns-toggle').click()
    expect(await page.getByTestId(`run-cell-${b.id}-config.training.lr`).textContent()).toBe('0.003')
    await page.getByTestId('runs-sort-config.training.lr').focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => shownRows(page)).toEqual([a.id, b.id])
    await page.keyboard.press('Enter')
    await expect.poll(() => shownRows(page)).toEqual([b.id, a.id])

    // keyboard: into the table, j moves the cursor, Space selects, Enter opens the run
    await page.getByTestId('runs-table').focus()
    await page.keyboard.press('j')
    await page.keyboard.press(' ')
    await expect.poll(() => page.getByTestId(`run-pick-${b.id}`).isChecked()).toBe(true)
    await page.keyboard.press('Enter')
    await page.getByTestId('run-detail').filter({ hasText: 'elle-s5' }).waitFor()

    // tag and note the opened run; the tag is a filter term
    await page.getByTestId('run-tag-input').fill('paper')
    await page.getByTestId('run-tag-add').click()
    await page.getByTestId('run-tag-paper').waitFor()
    await page.getByTestId('run-note').fill('the best lr so far')
    await page.getByTestId('run-note-save').click()
    await expect.poll(() => engine.store.db.prepare('SELECT tags_json, note FROM runs WHERE id = ?').get(b.id)).toEqual({ tags_json: '["paper"]', note: 'the best lr so far' })
    await page.getByTestId('runs-filter').fill('tag = paper or method = ewc')
    await expect.poll(() => shownRows(page)).toEqual([b.id, c.id]) // still sorted by lr, descending

    // select a second run: the config diff shows only what differs
    await page.getByTestId(`run-pick-${c.id}`).check()
    await page.getByTestId('config-diff-training.lr').waitFor()
    await page.getByTestId('config-diff-method.name').filter({ hasText: 'ewc' }).waitFor()
    expect(await page.getByTestId('config-diff-model.kind').count()).toBe(0)

    // save the view; its link, opened in a new page, shows the same table and selection
    await page.getByTestId('saved-views-name').fill('lr sweep')
    await page.getByTestId('saved-views-save').click()
    await expect.poll(() => new URL(page.url()).hash).toMatch(/^#\/runs\?view=\d+$/)
    const viewId = Number(new URL(page.url()).hash.split('=')[1])
    await page.getByTestId('saved-views-copy').click()
    expect(await page.getByTestId('saved-views-link').textContent()).toBe(`${server.url}#/runs?view=${viewId}`)

    const other = await browser.newPage()
    other.on('pageerror', (e) => errors.push(e.message))
    await other.goto(`${server.openUrl}#/runs?view=${viewId}`)
    await other.getByTestId(`run-row-${b.id}`).waitFor()
    await expect.poll(() => other.getByTestId('runs-filter').inputValue()).toBe('tag = paper or method = ewc')
    await expect.poll(() => shownRows(other)).toEqual([b.id, c.id])
    expect(await other.getByTestId(`run-cell-${c.id}-config.training.lr`).textContent()).toBe('0.002')
    expect(await other.getByTestId(`run-pick-${b.id}`).isChecked()).toBe(true)
    expect(await other.getByTestId(`run-pick-${c.id}`).isChecked()).toBe(true)
    expect(await other.getByTestId('runs-compare-selected').textContent()).toContain('(2)')

    // the same view in the Compare view: the same runs picked
    await other.goto(`${server.url}#/compare?view=${viewId}`)
    // the view asks for the curves as soon as the saved view is applied; its curves panel, made later, shares that request
    const seriesAsked: string[] = []
    other.on('request', (r) => r.url().endsWith('/api/rpc/runs.series') && seriesAsked.push(r.postData() ?? ''))
    await other.reload()
    await other.getByTestId('compare-view').waitFor()
    await expect.poll(() => other.getByTestId(`compare-pick-${b.id}`).isChecked()).toBe(true)
    await other.locator('[data-testid="curves-panel"][data-loading="false"]').waitFor()
    await other.getByTestId(`compare-row-${b.id}`).waitFor()
    expect(seriesAsked).toHaveLength(1)
    expect(JSON.parse(seriesAsked[0]!).runs).toEqual([b.id, c.id])
    expect(await other.getByTestId(`compare-pick-${c.id}`).isChecked()).toBe(true)
    expect(await other.getByTestId(`compare-pick-${a.id}`).isChecked()).toBe(false)

    expect(errors).toEqual([])
    await other.close()
    await page.close()
  })

  it('a saved view naming deleted runs applies the rest and names them; a view saved elsewhere appears in the list', async () => {
    const kept = engine.createRun('kept-s1', config('naive', 1, 0.001))
    const gone = engine.createRun('gone-s2', config('naive', 2, 0.001))
    const state = {
      compare: {
        runs: [gone.id, kept.id],
        metrics: ['ap_geo'],
        x: 'step',
        logY: true,
        smoothing: { kind: 'none', param: 0 },
        grouping: { by: 'none', stat: 'mean', band: 'ci95', members: false },
        range: null
      },
      table: { columns: ['id', 'experiment', 'status'], filter: '', search: '', sort: null }
    } as const
    const handle = createApiHandler(engine, 'browser')
    const view = SavedView.parse(await handle('views.save', { name: 'with a deleted run', state }))
    engine.store.db.prepare('DELETE FROM runs WHERE id = ?').run(gone.id)

    const errors: string[] = []
    const page = await browser.newPage()
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(`${server.openUrl}#/compare?view=${view.id}`)
    await page.getByTestId('compare-view').waitFor()
    await expect
      .poll(async () => (await page.getByTestId('saved-views-missing').textContent())?.replace(/\s+/g, ' '))
      .toContain(`a run that no longer exists: #${gone.id}. Showing the rest.`)
    await expect.poll(() => page.getByTestId(`compare-pick-${kept.id}`).isChecked()).toBe(true)
    // the comparison of the rest loaded (not refused for the missing id)
    await page.getByTestId('compute-saved').waitFor()
    expect(await page.getByTestId('compare-error').count()).toBe(0)

    // another client saves a view: this page's list refetches on views.changed
    await handle('views.save', { name: 'from another window', state: { ...state, compare: { ...state.compare, runs: [kept.id] } } })
    await expect.poll(() => page.getByTestId('saved-views-select').locator('option').allTextContents()).toContain('from another window')
    expect(errors).toEqual([])
    await page.close()
  })
})
