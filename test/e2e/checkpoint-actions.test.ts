// End to end: the run page's checkpoint actions in a real Chromium against browser mode. A tiny GPT checkpoint
// on the default stream's tokenizer is written by fixture into a run of a temp store; from the UI it is
// exported to Hugging Face (the files then load with `elle import`), grown (the logit agreement is shown),
// evaluated (the row shows the perplexity) and fine-tuned (the scores reach the comparison); bad input
// shows its error next to the action.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { loadCheckpoint, saveCheckpoint } from '../../src/main/engine/checkpoint/checkpoint'
import type { Engine } from '../../src/main/engine/engine'
import type { BrowserServer } from '../../src/main/transports/http/server'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'
import { tempDir } from '../helpers/tmp'
import { elle } from '../cli/elle'
import { createApiHandler } from '../../src/main/engine/api/handler'
import type { Method, Params, Result } from '../../src/shared/contract'
import { checkpointInput, tinyConfig } from '../engine/checkpoint/helpers'
import { config, simulateRun } from '../engine/compare/fixtures'

const require = createRequire(import.meta.url)
let mode: BrowserMode
let engine: Engine
let server: BrowserServer
let browser: Browser
const dir = tempDir('elle-ckpt-actions-')
let runId: number
let checkpointId: number
const shape = { layers: 2, heads: 2, hidden: 32, ffn: 128 }

beforeAll(async () => {
  mode = await startBrowserMode()
  ;({ engine, server, browser } = mode)
  const { loadRunData } = await import('../../src/main/engine/training/data')
  const data = await loadRunData(engine.store, engine.dataDir, ['press']) // the default stream, prepared by the global setup
  const run = engine.createRun('ckpt-actions', config('ckpt-actions', ['press']))
  runId = run.id
  simulateRun(engine.store, runId, ['press'], { secondsPerStep: [0.1], flopsPerStep: [1e10], params: [1e5] })
  const stage = engine.store.addStage(runId, { index: 0, kind: 'train', domain: 'press' })
  engine.store.setStageStatus(stage.id, 'finished')
  const cfg = tinyConfig('gpt', { vocabSize: data.tokenizer.vocabSize })
  const written = await saveCheckpoint(path.join(dir, 'ckpt'), checkpointInput(cfg, data.tokenizer, { training: { reason: 'stage-end' } }))
  checkpointId = engine.store.addCheckpoint({ runId, stageId: stage.id, step: 100, path: written.path, bytes: written.bytes, sha256: written.sha256 }).id
  engine.setRunStatus(runId, 'running')
  engine.setRunStatus(runId, 'finished')
  // a forgetting matrix as its job stores it (computing one fine-tunes every cell: not this test's subject)
  const matrix = {
    R: [
      [0.62, 0.4],
      [0.55, 0.71]
    ],
    std: [
      [0.01, 0.02],
      [0.03, 0.01]
    ],
    baseline: [null, 0.35],
    bwt: -0.07,
    fwt: 0.05
  }
  const forgetting = engine.store.createJob('forgetting', { runId, seeds: 2 }, 'test')
  engine.store.endJob(forgetting.id, {
    status: 'finished',
    result: {
      runId,
      prompt: 'own',
      seeds: [0, 1],
      settings: { steps: 5, batchSize: 8, lr: 1e-4 },
      stages: ['press', 'fiction'].map((domain, index) => ({ index, domain, task: `${domain}-genre`, seen: [domain], checkpointId: null, checkpointPath: null, step: null })),
      accuracy: matrix,
      macroF1: matrix,
      cells: []
    }
  })
})
afterAll(async () => {
  await mode?.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** Open an action's dialog on the checkpoint, fill fields, start; returns the dialog. */
async function start(page: Page, action: string, fields: Record<string, string>) {
  await page.getByTestId(`action-${action}-${checkpointId}`).click()
  const dialog = page.getByTestId('action-dialog')
  await dialog.waitFor()
  for (const [testId, value] of Object.entries(fields)) await dialog.getByTestId(testId).fill(value)
  await dialog.getByTestId('action-start').click()
  return dialog
}

/** The job the open dialog started, once it ended with this status. */
async function ended(page: Page, status: 'finished' | 'failed') {
  const card = page.getByTestId('action-dialog').locator(`[data-testid^="job-"][data-status="${status}"]`).first()
  await card.waitFor({ timeout: 30_000 })
  return card
}

/** Close the dialog once the job it started is listed in it (closing does not cancel the job). */
async function closeWhenStarted(page: Page) {
  const dialog = page.getByTestId('action-dialog')
  await dialog.locator('[data-testid^="job-"][data-status]').first().waitFor()
  await dialog.getByTestId('action-close').click()
}

/** A job card in the run's job list, once it ended with this status. */
async function listed(page: Page, what: string, status: 'finished' | 'failed' = 'finished') {
  const card = page.getByTestId('run-jobs').locator(`[data-status="${status}"]`).filter({ hasText: what })
  await card.waitFor({ timeout: 30_000 })
  return card
}

describe('checkpoint actions in a real browser', () => {
  it('exports to Hugging Face (files load with elle import), grows with the logit check, evaluates, fine-tunes into the comparison', async () => {
    const page = await browser.newPage()
    const consoleErrors: string[] = []
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
    page.on('pageerror', (e) => consoleErrors.push(e.message))

    // pick the run for the comparison first: a fine-tune's job end must refresh it without another pick
    await page.goto(`${server.openUrl}#/compare`)
    await page.getByTestId(`compare-pick-${runId}`).check()
    await page.getByTestId('compare-downstream-empty').waitFor()

    await page.goto(`${server.url}#/runs/run/${runId}`)
    const row = page.getByTestId(`checkpoint-row-${checkpointId}`)
    await row.waitFor()
    expect(await row.textContent()).toContain('gpt L2 H2 d32 ffn128')

    // the slow jobs first, side by side (different kinds run at once): fine-tune, grow, evaluate
    await start(page, 'finetune', { 'finetune-seeds': '1', 'finetune-steps': '5' })
    await closeWhenStarted(page)
    await start(page, 'grow', { 'grow-layers': '1', 'grow-heads': '1' })
    await closeWhenStarted(page)
    await start(page, 'evaluate', { 'eval-max-sequences': '8' })
    await closeWhenStarted(page)

    // a forgetting matrix far too long to wait for: its live progress shows, and Cancel stops it
    await page.getByTestId('action-forgetting').click()
    let dialog = page.getByTestId('action-dialog')
    await dialog.getByTestId('finetune-seeds').fill('1')
    await dialog.getByTestId('finetune-steps').fill('1000000')
    await dialog.getByTestId('action-start').click()
    await dialog.locator('[data-testid^="job-progress-"]').waitFor({ timeout: 30_000 })
    await dialog.locator('[data-testid^="job-cancel-"]').click()
    await dialog.locator('[data-testid^="job-"][data-status="cancelled"]').waitFor({ timeout: 30_000 })
    await dialog.getByTestId('action-close').click()

    // a missing folder is refused at its field before anything starts; Escape closes the dialog
    dialog = await start(page, 'export', {})
    expect(await dialog.getByTestId('action-error').textContent()).toContain('Folder is required')
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })

    // a bad path: the job fails and its error shows in the dialog
    const file = path.join(dir, 'a-file')
    fs.writeFileSync(file, 'not a folder')
    dialog = await start(page, 'export', { 'export-dir': file })
    expect(await (await ended(page, 'failed')).textContent()).toContain('exists and is not a directory')
    await dialog.getByTestId('action-close').click()

    // export, then `elle import` reads the files back into a checkpoint of the same shape
    const hf = path.join(dir, 'hf')
    dialog = await start(page, 'export', { 'export-dir': hf })
    const exported = await ended(page, 'finished')
    expect(await exported.getByTestId('export-folder').textContent()).toBe(hf)
    expect(await exported.textContent()).toContain('model.safetensors')
    await dialog.getByTestId('action-close').click()
    const back = path.join(dir, 'imported')
    const imported = await elle(['import', hf, '--out', back, '--db', path.join(dir, 'cli.sqlite'), '--json'])
    expect(imported.code, imported.stderr).toBe(0)
    const original = await loadCheckpoint(path.join(dir, 'ckpt'), { optimizer: false })
    const loaded = await loadCheckpoint(back, { optimizer: false })
    expect(loaded.config).toMatchObject({ kind: 'gpt', ...shape, vocabSize: original.config.vocabSize, maxLength: original.config.maxLength })
    expect(Object.keys(loaded.weights).sort()).toEqual(Object.keys(original.weights).sort())

    // grow: the function-preservation check is shown (exact growth keeps every argmax)
    const grown = await listed(page, 'grow of checkpoint')
    expect(await grown.getByTestId('agreement-argmax').textContent()).toBe('100.0%')
    expect(Number(await grown.getByTestId('agreement-max-diff').textContent())).toBeLessThan(1e-3)
    expect(await grown.textContent()).toContain('gpt L3 H3 d48')

    // the grown checkpoint belongs to no run: it is listed as detached, and its Evaluate takes it by folder
    const growJob = engine.store.listJobs({ kind: 'grow', status: 'finished' })[0]!
    const grownPath = (growJob.result as { to: string }).to
    await page.getByTestId(`detached-row-${growJob.id}`).filter({ hasText: 'gpt L3 H3 d48' }).waitFor()
    await page.getByTestId(`detached-evaluate-${growJob.id}`).click()
    const detachedDialog = page.getByTestId('action-dialog')
    await detachedDialog.getByTestId('eval-max-sequences').fill('8')
    await detachedDialog.getByTestId('action-start').click()
    await ended(page, 'finished')
    await detachedDialog.getByTestId('action-close').click()
    expect(engine.store.listJobs({ kind: 'evaluate' }).find((j) => j.params.checkpointPath === grownPath)).toMatchObject({ status: 'finished', params: { domain: 'press' } })

    // evaluate on the run's domain: the perplexity (with its interval) appears in the checkpoint's row
    const evaluated = await listed(page, 'evaluation of checkpoint')
    expect(await evaluated.getByTestId('eval-ppl').textContent()).toMatch(/^\d+\.\d\d$/)
    await page
      .getByTestId(`checkpoint-evals-${checkpointId}`)
      .filter({ hasText: /press \d+\.\d \[\d+\.\d–\d+\.\d\]/ })
      .waitFor()

    // fine-tune 1 seed × 5 updates: the scores show, and the comparison picked above gets them
    const tuned = await listed(page, 'fine-tune of checkpoint')
    expect(await tuned.getByTestId('finetune-accuracy').textContent()).toMatch(/^\d\.\d{3}$/)
    await page.getByTestId('nav-compare').click()
    await page.getByTestId('compare-downstream').filter({ hasText: 'press-genre' }).waitFor({ timeout: 10_000 })

    // every job of the run is listed on its page, the stored forgetting matrix as a table with BWT and FWT
    await page.getByTestId('nav-runs').click()
    await page.getByTestId('run-jobs').locator('[data-testid^="job-"][data-status]').nth(6).waitFor()
    const matrix = page.getByTestId('forgetting-matrix')
    expect(await matrix.locator('tbody tr').first().textContent()).toMatch(/press\s*0\.620\s*0\.400/)
    expect(await page.getByTestId('forgetting-result').textContent()).toMatch(/BWT -0\.070 · FWT 0\.050/)
    // and as a heat map of each task's change since its own stage: three cells on and below the diagonal
    expect(await page.locator('[data-testid^="forgetting-heatmap-"]').first().getAttribute('data-cells')).toBe('3')
    // axe finds nothing serious on the page with its job results, nor in an open action dialog
    await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')) // over the devtools protocol: the CSP allows no inline script
    const serious = (): Promise<string[]> =>
      page.evaluate<string[]>(
        `axe.run(document, { resultTypes: ['violations'] }).then((r) =>
           r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ' (' + v.nodes.length + '): ' + v.nodes[0].html.slice(0, 80)))`
      )
    expect(await serious()).toEqual([])
    await page.getByTestId(`action-grow-${checkpointId}`).click()
    await page.getByTestId('grow-layers').waitFor()
    expect(await serious()).toEqual([])
    await page.keyboard.press('Escape')
    await page.getByTestId('action-dialog').waitFor({ state: 'detached' })

    expect(consoleErrors).toEqual([])
    await page.close()
  }, 120_000) // four job workers and a CLI process: about 15 s on a quiet machine, several times that on a loaded one

  it('queues an action instead of starting it: the job waits in the run queue and runs when the queue does', async () => {
    const handler = createApiHandler(engine, 'browser')
    const call = async <M extends Method>(method: M, params: Params<M>): Promise<Result<M>> => (await handler(method, params)) as Result<M>
    await call('queue.pause', {})
    const page = await browser.newPage()
    try {
      await page.goto(`${server.openUrl}#/runs/run/${runId}`)
      await page.getByTestId(`checkpoint-row-${checkpointId}`).waitFor()
      await page.getByTestId(`action-evaluate-${checkpointId}`).click()
      const dialog = page.getByTestId('action-dialog')
      await dialog.getByTestId('eval-max-sequences').fill('4')
      // the run has finished, so nothing to wait for: plain "Queue"
      expect(await dialog.getByTestId('action-queue').textContent()).toContain('Queue')
      await dialog.getByTestId('action-queue').click()
      const note = page.getByTestId('action-queued')
      await note.waitFor()
      const entry = (await call('queue.list', {})).entries.find((e) => e.kind === 'job')
      expect(entry).toMatchObject({ kind: 'job', state: 'waiting', job: { kind: 'evaluate', status: 'queued' } })
      expect(await note.textContent()).toContain(`job ${entry!.kind === 'job' ? entry!.jobId : -1}`)
      // the queue runs it once resumed
      await call('queue.resume', {})
      await dialog.locator('[data-testid^="job-"][data-status="finished"]').first().waitFor({ timeout: 30_000 })
    } finally {
      await call('queue.resume', {}).catch(() => undefined)
      await page.close()
    }
  })
})
