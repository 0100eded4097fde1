// End to end: the experiment designer in a real Chromium, through the real server and store. Design a two-growth ELLE
// schedule in the timeline, see validation at the field, edit the JSON, export it and run it with `elle run`, then
// save, clone, diff and start it from the page.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'
import { elle } from '../cli/elle'
import { tempDir } from '../helpers/tmp'

let mode: BrowserMode
let streamId: number

beforeAll(async () => {
  mode = await startBrowserMode()
  const { ensureDefaultDomains } = await import('../../src/main/engine/training/data')
  await ensureDefaultDomains(mode.engine.store, mode.engine.dataDir) // prepared by the global setup: registers it
  streamId = mode.engine.changeStreams(() => mode.engine.store.createStream({ name: 'three', domains: ['press', 'hobbies', 'learned'] })).id
})
afterAll(async () => mode?.close())

const field = (page: Page, p: string) => page.getByTestId(`field-${p}`)

describe('Experiment designer in a real browser', () => {
  it('takes no input until its first draft is in, so nothing typed is overwritten by it', async () => {
    const { server, browser } = mode
    const page = await browser.newPage()
    let release = (): void => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    await page.route('**/api/rpc/experiments.list', async (route) => (await held, await route.continue()))
    await page.goto(`${server.openUrl}#/schedules`)
    await page.getByTestId('designer').waitFor()
    expect(await field(page, 'name').isDisabled()).toBe(true)
    release()
    await expect.poll(() => field(page, 'name').isEnabled()).toBe(true)
    await field(page, 'name').fill('typed-after-ready')
    await page.getByTestId('queue-draft').waitFor()
    expect(await field(page, 'name').inputValue()).toBe('typed-after-ready')
    await page.close()
  })

  it('designs, validates, exports (elle run runs it), saves, clones, diffs and starts an ELLE schedule', { timeout: 300_000 }, async () => {
    const { engine, server, browser } = mode
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    await page.goto(server.openUrl)
    await page.getByTestId('nav-schedules').click()
    await page.getByTestId('designer').waitFor()
    await page.locator(`[data-testid="stream-select"] option[value="${streamId}"]`).waitFor({ state: 'attached' })

    // ---- design: the stream gives one stage per domain; the timeline takes steps and growth ----
    await page.getByTestId('stream-select').selectOption(String(streamId))
    await expect.poll(() => page.getByTestId('timeline').getByRole('listitem').count()).toBe(3)
    await field(page, 'name').fill('designed-elle')
    await field(page, 'model.layers').fill('1')
    await field(page, 'model.heads').fill('2')
    await field(page, 'model.headSize').fill('8')
    await field(page, 'training.seqLen').fill('16')
    await field(page, 'training.batchSize').fill('2')
    await field(page, 'training.validateEvery').fill('2')
    for (const i of [0, 1, 2]) await field(page, `stages[${i}].steps`).fill('3')
    await field(page, 'stages[1].grow.layers').fill('2')
    await field(page, 'stages[1].grow.heads').fill('2')
    await field(page, 'stages[1].frwSteps').fill('1')
    await field(page, 'stages[2].grow.layers').fill('1')
    await field(page, 'stages[2].grow.heads').fill('1')
    await field(page, 'stages[2].frwSteps').fill('1')
    // the model after each stage: 1 -> 3 -> 4 layers, 2 -> 4 -> 5 heads of 8
    await page.getByTestId('plan-2').filter({ hasText: '40' }).waitFor()
    const cells = async (i: number) => (await page.getByTestId(`plan-${i}`).locator('td').allTextContents()).slice(2, 6)
    expect(await cells(0)).toEqual(['1', '16', '2', '64'])
    expect(await cells(1)).toEqual(['3', '32', '4', '128'])
    expect(await cells(2)).toEqual(['4', '40', '5', '160'])
    expect(await page.getByTestId('plan-0').textContent()).toMatch(/\((guess|scaled|measured)\)/)
    const flags = await page.getByTestId('reference-flags').textContent()
    expect(flags).toContain('--added_layer_num 2:1')
    expect(flags).toContain('--added_head_num 2:1')
    expect(flags).toContain('--domains press:hobbies:learned')
    await expect.poll(() => page.getByTestId('start-now').isEnabled()).toBe(true)

    // ---- validation at the field: shrinking growth, a domain out of the stream's order ----
    await field(page, 'stages[2].grow.heads').fill('-1')
    await page.getByTestId('issue-stages[2].grow.heads').filter({ hasText: 'would shrink the model' }).waitFor()
    expect(await page.getByTestId('start-now').isDisabled()).toBe(true)
    expect(await page.getByTestId('start-reason').textContent()).toContain('stages[2].grow.heads')
    await field(page, 'stages[2].grow.heads').fill('1')
    await field(page, 'stages[1].domain').selectOption('learned')
    await page.getByTestId('issue-stages[1].domain').filter({ hasText: 'stream "three" has "hobbies" at position 2' }).waitFor()
    await field(page, 'stages[1].domain').selectOption('hobbies')
    await expect.poll(() => page.getByTestId('start-now').isEnabled()).toBe(true)

    // ---- keyboard: add and remove a stage without the mouse ----
    await page.getByTestId('stage-add').focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByTestId('timeline').getByRole('listitem').count()).toBe(4)
    await page.getByTestId('stage-remove-3').focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByTestId('timeline').getByRole('listitem').count()).toBe(3)

    // ---- the JSON beside the form, both ways; a wrong type in it is named at its path ----
    const json = JSON.parse(await page.getByTestId('config-json').inputValue()) as { training: Record<string, unknown>; stages: Array<Record<string, unknown>> }
    expect(json.stages[1]).toEqual({ domain: 'hobbies', steps: 3, grow: { layers: 2, heads: 2 }, frwSteps: 1 })
    json.training.seed = 7
    // a fixed sample of the validation split: the whole split at seqLen 16 made the `elle run` below ~300 s on a loaded machine, 8 sequences ~13 s
    json.training.validationSequences = 8
    await page.getByTestId('config-json').fill(JSON.stringify(json, null, 2))
    await expect.poll(() => field(page, 'training.seed').inputValue()).toBe('7')
    const wrong = structuredClone(json)
    ;(wrong.stages[2]!.grow as Record<string, unknown>).heads = 'two'
    await page.getByTestId('config-json').fill(JSON.stringify(wrong))
    await page.getByTestId('issue-stages[2].grow.heads').waitFor()
    await page.getByTestId('config-json').fill('{ not json')
    await page.getByTestId('json-error').filter({ hasText: 'not JSON' }).waitFor()
    await page.getByTestId('config-json').fill(JSON.stringify(json, null, 2))
    await expect.poll(() => page.getByTestId('start-now').isEnabled()).toBe(true)

    // ---- export, and `elle run FILE` runs it unchanged ----
    const file = path.join(tempDir(), 'designed.json')
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()])
    await download.saveAs(file)
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(json)
    const result = await elle(['run', file, '--db', engine.store.path, '--json'], {}, 240_000)
    expect(result.stderr + result.stdout).not.toContain('rror:')
    expect(result.code).toBe(0)
    const ran = engine.store.listRuns().find((r) => r.experimentName === 'designed-elle')!
    expect(ran.status).toBe('finished')
    expect(ran.streamId).toBe(streamId)
    // that run's throughput now backs the estimate of the same shapes
    await field(page, 'training.seed').fill('8')
    await expect.poll(async () => (JSON.parse(await page.getByTestId('config-json').inputValue()) as typeof json).training.seed).toBe(8) // the form writes the JSON again
    await page.getByTestId('plan-2').filter({ hasText: '(measured)' }).waitFor({ timeout: 10_000 })

    // ---- save, clone, diff ----
    await page.getByTestId('save-name').fill('two-growth')
    await page.getByTestId('save').click()
    await page.getByTestId('saved-two-growth').waitFor()
    await page.getByTestId('saved-clone-two-growth').click()
    await expect.poll(() => page.getByTestId('save-name').inputValue()).toBe('two-growth-copy')
    await field(page, 'stages[2].steps').fill('5')
    await page.getByTestId('save').click()
    await page.getByTestId('saved-two-growth-copy').waitFor()
    const saved = engine.store.listSavedExperiments()
    const id = (name: string) => String(saved.find((s) => s.name === name)!.id)
    await page.getByTestId('diff-left').selectOption(id('two-growth'))
    await page.getByTestId('diff-right').selectOption(id('two-growth-copy'))
    await page.getByTestId('diff-run').click()
    await page.getByTestId('diff-table').waitFor()
    expect(await page.getByTestId('diff-table').locator('tbody tr').count()).toBe(1)
    expect(await page.getByTestId('diff-stages[2].steps').locator('td').allTextContents()).toEqual(['stages[2].steps', '3', '5'])

    // ---- every form control is labelled ----
    // ---- deep links: the opened experiment is in the address; a reload opens it again; a run clones from the Runs view ----
    const copyId = id('two-growth-copy')
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/schedules/experiment/${copyId}`)
    await page.goto(`${server.url}#/schedules/experiment/${id('two-growth')}`)
    await page.reload()
    await expect.poll(() => page.getByTestId('save-name').inputValue(), { timeout: 15_000 }).toBe('two-growth') // a fresh page loads the lists first: slow on a loaded machine
    expect(await field(page, 'stages[2].steps').inputValue()).toBe('3')
    await page.goto(`${server.url}#/runs/run/${ran.id}`)
    await page.reload()
    await page.getByTestId('run-detail').filter({ hasText: 'designed-elle' }).waitFor()
    await page.getByTestId('run-clone').click()
    await expect.poll(() => page.getByTestId('save-name').inputValue(), { timeout: 15_000 }).toBe(`run-${ran.id}-copy`)
    expect(new URL(page.url()).hash).toBe(`#/schedules/run/${ran.id}`)
    expect(await field(page, 'stages[1].grow.layers').inputValue()).toBe('2')
    await page.getByTestId('stream-select').selectOption(String(streamId))

    // (page scripts as strings: the tests are typed without the DOM library)
    const unlabelled = await page.evaluate<string[]>(
      `[...document.querySelectorAll('[data-testid="designer"] :is(input, select, textarea)')]
         .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.outerHTML.slice(0, 80))`
    )
    expect(unlabelled).toEqual([])

    // ---- axe-core on the designer: no serious or critical violations ----
    await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')) // evaluated over the devtools protocol: the page's CSP allows no inline script
    const violations = await page.evaluate<string[]>(
      `axe.run(document.querySelector('[data-testid="designer"]'), { resultTypes: ['violations'] }).then((r) =>
         r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ' (' + v.nodes.length + ')'))`
    )
    expect(violations).toEqual([])

    // ---- start now: a run of the clone is queued and the Runs view opens ----
    await page.getByTestId('start-now').click()
    await page.getByTestId('runs-view').waitFor()
    const started = engine.store.listRuns().find((r) => r.experimentName === 'designed-elle' && r.id !== ran.id)!
    expect(started.streamId).toBe(streamId)
    await engine.cancelRun(started.id)
    expect(errors).toEqual([])
    await page.close()
  })
})
