// End to end (issue 14): the Queue view in a real Chromium, through the real server, engine and store. Pause the
// queue from the page, queue a sweep from the designer and one run through the API, reorder by keyboard (checked
// through the API) and by drag and drop, remove one, resume; the status bar says what keeps the machine awake.
// Training is not waited for: the test ends once the queue has handed out its first run.
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { Method, Params, QueueEntry, QueueRunEntry, Result } from '../../src/shared/contract'
import type { RunConfigInput } from '../../src/shared/run-config'
import { createApiHandler } from '../../src/main/engine/api/handler'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'

/** The queue's run entries (every entry here is a run). */
const runEntries = (state: { entries: QueueEntry[] }): QueueRunEntry[] => state.entries.filter((e): e is QueueRunEntry => e.kind === 'run')

let mode: BrowserMode
let call: <M extends Method>(method: M, params: Params<M>) => Promise<Result<M>>

beforeAll(async () => {
  mode = await startBrowserMode()
  const { ensureDefaultDomains } = await import('../../src/main/engine/training/data')
  await ensureDefaultDomains(mode.engine.store, mode.engine.dataDir) // prepared by the global setup: registers it
  const handler = createApiHandler(mode.engine, 'browser')
  call = async (method, params) => (await handler(method, params)) as never
})
afterAll(async () => mode?.close())

const tiny = (name: string): RunConfigInput => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8 },
  training: { seqLen: 16, batchSize: 2, validateEvery: 5 },
  stages: [{ domain: 'press', steps: 5 }]
})
const order = async (): Promise<number[]> => runEntries(await call('queue.list', {})).map((e) => e.runId)
const rowOrder = async (page: Page): Promise<number[]> =>
  (
    await page
      .getByTestId('queue-list')
      .locator(':scope > li')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-testid')))
  ).map((t) => Number(t!.split('-').at(-1)))

describe('Queue view in a real browser', () => {
  it('pauses, queues a sweep and a run, reorders by keyboard and drag, removes one and resumes', { timeout: 90_000 }, async () => {
    const page = await mode.browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    await page.goto(mode.server.openUrl)

    // ---- pause the whole queue from the page ----
    await page.getByTestId('nav-queue').click()
    await page.getByTestId('queue-view').waitFor()
    await page.getByTestId('queue-pause').click()
    await page.getByTestId('queue-paused').waitFor()
    expect((await call('queue.list', {})).paused).toBe(true)

    // ---- a sweep of the designer's draft (one method × two seeds, a named group) ----
    await page.getByTestId('nav-schedules').click()
    await page.getByTestId('designer').waitFor()
    const field = (p: string) => page.getByTestId(`field-${p}`)
    await field('name').fill('ui-sweep')
    await expect.poll(() => page.getByTestId('queue-draft').isEnabled()).toBe(true)
    await page.getByTestId('queue-sweep-open').click()
    await page.getByTestId('sweep-group').fill('night-1')
    await page.getByTestId('sweep-seeds').fill('1, 2')
    await page.getByTestId('sweep-queue').filter({ hasText: 'Queue 2 runs' }).click()
    await page.getByTestId('queue-view').waitFor()
    await expect.poll(() => page.getByTestId('queue-list').locator(':scope > li').count()).toBe(2)
    const swept = runEntries(await call('queue.list', {}))
    expect(swept.map((e) => [e.group, e.seed])).toEqual([
      ['night-1', 1],
      ['night-1', 2]
    ])
    // ---- and one tiny run through the API: the page follows queue.changed ----
    const added = runEntries(await call('queue.add', { config: tiny('ui-tiny') }))[0]!
    await page.getByTestId(`queue-entry-${added.runId}`).waitFor()
    const [s1, s2] = swept.map((e) => e.runId) as [number, number]
    const c = added.runId
    expect(await rowOrder(page)).toEqual([s1, s2, c])
    await page.getByTestId(`queue-blocked-${c}`).filter({ hasText: 'paused' }).waitFor()
    expect(await page.getByTestId(`queue-estimate-${c}`).textContent()).toMatch(/~.+\((progress|measured|scaled|guess)\)/)
    expect(await page.getByTestId('queue-summary').textContent()).toMatch(/3 entries · about .+ · done (today|tomorrow|\w{3} )/)

    // ---- keyboard: Alt+Home to the top, Alt+ArrowDown one down; announced, focus stays on the row ----
    await page.getByTestId(`queue-entry-${c}`).focus()
    await page.keyboard.press('Alt+Home')
    await page
      .getByTestId('queue-announce')
      .filter({ hasText: `run ${c} moved to position 1 of 3` })
      .waitFor()
    expect(await order()).toEqual([c, s1, s2])
    await page.keyboard.press('Alt+ArrowDown')
    await page
      .getByTestId('queue-announce')
      .filter({ hasText: `run ${c} moved to position 2 of 3` })
      .waitFor()
    expect(await order()).toEqual([s1, c, s2])
    expect(await rowOrder(page)).toEqual([s1, c, s2])
    expect(await page.evaluate<string | null>('document.activeElement && document.activeElement.getAttribute("data-testid")')).toBe(`queue-entry-${c}`)
    await page.keyboard.press('ArrowUp') // plain arrows only move the focus
    expect(await page.evaluate<string | null>('document.activeElement && document.activeElement.getAttribute("data-testid")')).toBe(`queue-entry-${s1}`)
    await page.keyboard.press('Alt+End')
    await page
      .getByTestId('queue-announce')
      .filter({ hasText: `run ${s1} moved to position 3 of 3` })
      .waitFor()
    expect(await order()).toEqual([c, s2, s1])

    // ---- drag and drop: the last row onto the first ----
    await page.getByTestId(`queue-entry-${s1}`).dragTo(page.getByTestId(`queue-entry-${c}`))
    await expect.poll(order).toEqual([s1, c, s2])
    await expect.poll(() => rowOrder(page)).toEqual([s1, c, s2])

    // ---- edit an entry: an unknown dependency is refused by name and changes nothing; then after, group and priority ----
    await page.getByTestId(`queue-edit-${c}`).click()
    await page.getByTestId(`queue-edit-after-${c}`).fill('999999')
    await page.getByTestId(`queue-edit-save-${c}`).click()
    await page.getByTestId(`queue-edit-error-${c}`).filter({ hasText: '999999' }).waitFor()
    expect(runEntries(await call('queue.list', {})).find((e) => e.runId === c)!.after).toEqual([])
    await page.getByTestId(`queue-edit-after-${c}`).fill(`#${s1}`)
    await page.getByTestId(`queue-edit-group-${c}`).fill('night-1')
    await page.getByTestId(`queue-edit-priority-${c}`).fill('3')
    await page.locator(`#budget-hours-${c}`).fill('1.5') // a number field: the page hands over a number, not text
    await page.getByTestId(`queue-edit-priority-${c}`).press('Enter')
    await page.getByTestId(`queue-edit-form-${c}`).waitFor({ state: 'detached' })
    expect(runEntries(await call('queue.list', {})).find((e) => e.runId === c)).toMatchObject({ after: [s1], group: 'night-1', priority: 3, budget: { hours: 1.5 } })
    await page.getByTestId(`queue-priority-${c}`).filter({ hasText: 'priority 3' }).waitFor()
    await call('queue.update', { runId: c, after: [], group: null, priority: 0, budget: null })

    // ---- axe-core on the Queue view: no serious or critical violations ----
    await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'))
    const violations = await page.evaluate<string[]>(
      `axe.run(document.querySelector('[data-testid="queue-view"]'), { resultTypes: ['violations'] }).then((r) =>
         r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ' (' + v.nodes.length + ')'))`
    )
    expect(violations).toEqual([])

    // ---- remove one: its run is cancelled and it leaves the queue ----
    await page.getByTestId(`queue-remove-${s2}`).click()
    await expect.poll(order).toEqual([s1, c])
    await page.getByTestId(`queue-entry-${s2}`).waitFor({ state: 'detached' })
    expect(mode.engine.store.getRun(s2).status).toBe('cancelled')

    // ---- resume: the first entry is handed out; the status bar says sleep prevention needs the desktop app ----
    await page.getByTestId('queue-resume').click()
    await page.getByTestId('queue-pause').waitFor()
    expect((await call('queue.list', {})).paused).toBe(false)
    await page.getByTestId(`queue-state-${s1}`).filter({ hasText: 'running' }).waitFor({ timeout: 20_000 })
    await page.getByTestId('status-awake').filter({ hasText: 'sleep prevention needs the desktop app' }).waitFor({ timeout: 20_000 })
    await page.getByTestId(`queue-blocked-${c}`).filter({ hasText: 'slot' }).waitFor()

    // the one refused request (the unknown dependency) is the browser's only complaint
    expect(errors).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)'])
    await call('queue.pause', {})
    for (const id of [s1, c]) await call('runs.cancel', { id }).catch(() => undefined)
    await page.close()
  })

  it('shows a run.notice as a browser notification once asked, and the morning summary links the group to Compare', { timeout: 60_000 }, async () => {
    const context = await mode.browser.newContext({ permissions: ['notifications'] })
    // record what the page hands the Notification API (headless Chromium shows nothing)
    await context.addInitScript(`{
      const Real = window.Notification
      window.__notices = []
      window.Notification = class { constructor(title, options) { window.__notices.push({ title, body: options && options.body }) }
        static get permission() { return Real.permission }
        static requestPermission() { return Real.requestPermission() } }
    }`)
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(mode.server.openUrl)

    // ---- Queue beside Start now: the draft goes to the bottom of the (paused) queue ----
    await page.getByTestId('nav-schedules').click()
    await page.getByTestId('field-name').fill('ui-draft')
    await expect.poll(() => page.getByTestId('queue-draft').isEnabled()).toBe(true)
    await page.getByTestId('queue-draft').click()
    await page.getByTestId('queue-view').waitFor()
    const last = runEntries(await call('queue.list', {})).at(-1)!
    expect(last).toMatchObject({ configName: 'ui-draft', state: 'waiting' })
    await page.getByTestId(`queue-entry-${last.runId}`).waitFor()
    await call('queue.remove', { runId: last.runId })

    // ---- a job entry (queue.addJob): marked as a job, says what it does, moved by keyboard and removed like a run ----
    await call('runs.start', { config: tiny('ui-ahead-of-job') }) // something to move ahead of (the queue is paused)
    const job = await call('queue.addJob', { job: { method: 'checkpoints.import', params: { path: '/nonexistent/hf-model' } }, priority: -5 })
    const key = `job-${job.jobId}`
    await page.getByTestId(`queue-entry-${key}`).waitFor()
    expect(await page.getByTestId(`queue-kind-${key}`).textContent()).toBe('job')
    expect(await page.getByTestId(`queue-what-${key}`).textContent()).toBe('import /nonexistent/hf-model')
    expect(await page.getByTestId(`queue-state-${key}`).textContent()).toBe('waiting')
    expect((await call('queue.list', {})).entries[0]!.kind).toBe('run')
    await page.getByTestId(`queue-entry-${key}`).focus()
    await page.keyboard.press('Alt+Home')
    await expect.poll(async () => (await call('queue.list', {})).entries[0]).toMatchObject({ kind: 'job', jobId: job.jobId })
    await page
      .getByTestId(`queue-announce`)
      .filter({ hasText: `job ${job.jobId} moved to position 1` })
      .waitFor()
    await page.getByTestId(`queue-remove-${key}`).click()
    await expect.poll(() => page.getByTestId(`queue-entry-${key}`).count()).toBe(0)
    expect(mode.engine.store.getJob(job.jobId).status).toBe('cancelled')

    // ---- settings: the window as simple fields; a zero-length one and a cron that never fires are refused by name ----
    await page.getByTestId('queue-window-daily').check()
    await page.getByTestId('queue-window-start').fill('20:00')
    await page.getByTestId('queue-window-end').fill('20:00')
    await page.getByTestId('queue-settings-save').click()
    await page.getByTestId('queue-error').filter({ hasText: 'window.end' }).waitFor()
    await page.getByTestId('queue-window-end').fill('07:30')
    await page.getByTestId('queue-window-day-6').focus() // the weekday chips are checkboxes: Space toggles one
    await page.keyboard.press('Space') // Mon–Fri and Saturday
    await page.getByTestId('queue-slots').fill('2')
    await page.getByTestId('queue-notify-command').fill(`notify-send 'ELLE run'`)
    await page.getByTestId('queue-stop-at').fill('2099-12-03T07:00') // the whole queue's budget
    await page.getByTestId('queue-settings-save').click()
    await expect.poll(async () => (await call('queue.settings', {})).window).toEqual({ kind: 'daily', start: '20:00', end: '07:30', days: [1, 2, 3, 4, 5, 6] })
    expect(await call('queue.settings', {})).toMatchObject({ slots: 2, notifyCommand: ['notify-send', 'ELLE run'] })
    expect(Date.parse((await call('queue.settings', {})).stopAt!)).toBe(await page.evaluate(`new Date('2099-12-03T07:00').getTime()`))
    await page.getByTestId('queue-window').filter({ hasText: '20:00–07:30 (next day), starting Mon–Sat' }).waitFor()
    await page.getByTestId('queue-window-cron').check()
    await page.getByTestId('queue-window-cronexpr').fill('0 0 31 2 *')
    await page.getByTestId('queue-settings-save').click()
    await page.getByTestId('queue-error').filter({ hasText: 'window.cron' }).waitFor()
    expect((await call('queue.settings', {})).window).toMatchObject({ kind: 'daily' }) // refused: unchanged
    await call('queue.settings', { window: null, slots: 1, notifyCommand: null, stopAt: null })

    await page.getByTestId('queue-notify').check()
    expect(await page.evaluate<string | null>(`localStorage.getItem('elle.queue.notify')`)).toBe('on')

    const failed = mode.engine.createRun('night-fail', tiny('night-fail'))
    mode.engine.setRunStatus(failed.id, 'running')
    mode.engine.setRunStatus(failed.id, 'failed', { error: 'loss is NaN at step 812\n    at train (worker.js:1)' })
    const at = new Date().toISOString()
    mode.engine.events.publish({
      type: 'run.notice',
      notice: { kind: 'failed', runId: failed.id, experimentName: 'night-fail', message: `run ${failed.id} failed: loss is NaN at step 812\nmore`, at }
    })
    await expect.poll(() => page.evaluate<unknown>('window.__notices')).toEqual([{ title: 'ELLE: night-fail (failed)', body: `run ${failed.id} failed: loss is NaN at step 812` }])
    await page.getByTestId('queue-last-notice').filter({ hasText: 'loss is NaN' }).waitFor()

    // ---- the morning summary: since yesterday 18:00 by default; the failed run with its first error line ----
    await page.getByTestId('nav-runs').click()
    await page.getByTestId('morning-summary').waitFor()
    await page.getByTestId(`morning-failed-${failed.id}`).filter({ hasText: 'loss is NaN at step 812' }).waitFor()
    expect(await page.getByTestId(`morning-failed-${failed.id}`).textContent()).not.toContain('worker.js')
    expect(await page.getByTestId('morning-counts').textContent()).toMatch(/1\s+failed/)
    const group = runEntries(await call('queue.list', { includeFinished: true }))
      .filter((e) => e.group === 'night-1')
      .map((e) => e.runId)
    expect(group.length).toBeGreaterThan(0) // the swept runs still in the queue's history (a removed entry leaves it)
    await page.getByTestId('morning-compare-night-1').click()
    await page.getByTestId('compare-view').waitFor()
    for (const id of group) await expect.poll(() => page.getByTestId(`compare-pick-${id}`).isChecked()).toBe(true)
    expect(await page.getByTestId(`compare-pick-${failed.id}`).isChecked()).toBe(false)
    // a later start: nothing ran since
    await page.getByTestId('nav-runs').click()
    await page.getByTestId('morning-since').fill('2099-01-01T00:00')
    await page.getByTestId('morning-none').waitFor()
    expect(errors).toEqual([])
    await context.close()
  })
})
