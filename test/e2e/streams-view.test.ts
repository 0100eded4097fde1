// End to end: the Streams view in a real Chromium, through the real server, store and upload route. Upload a folder and
// see the job finish and the domain appear with its preview; add one by a path on the serving machine; build a stream and
// reorder it by keyboard; duplicate the built-in stream; a used domain's deletion is refused naming the run; axe-core.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBrowserMode, type BrowserMode } from '../helpers/browser'
import { tempDir } from '../helpers/tmp'
import { config } from '../engine/compare/fixtures'

let mode: BrowserMode

beforeAll(async () => {
  mode = await startBrowserMode()
  const { ensureDefaultDomains } = await import('../../src/main/engine/training/data')
  await ensureDefaultDomains(mode.engine.store, mode.engine.dataDir) // prepared by the global setup: registers it
})
afterAll(async () => mode?.close())

/** A folder of small notes (with a sub-folder and a hidden file the upload leaves out). */
function corpusFolder(name: string): string {
  const dir = path.join(tempDir(), name)
  fs.mkdirSync(path.join(dir, 'more'), { recursive: true })
  for (let i = 0; i < 4; i++)
    fs.writeFileSync(path.join(dir, i < 2 ? '' : 'more', `n${i}.txt`), `Note ${i} of ${name}: the heron waited by the reeds until the water cleared. `.repeat(15))
  fs.writeFileSync(path.join(dir, '.DS_Store'), Buffer.from([0, 1, 2, 3]))
  return dir
}

describe('Streams view in a real browser', () => {
  it('uploads a folder, adds by path, builds and reorders a stream by keyboard, duplicates the built-in one, refuses deleting a used domain', { timeout: 120_000 }, async () => {
    const { engine, server, browser } = mode
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 409') && errors.push(m.text()))
    await page.goto(server.openUrl)
    await page.getByTestId('nav-streams').click()
    await page.getByTestId('streams-view').waitFor()
    expect(await page.getByTestId('upload-limits').textContent()).toMatch(/at most 64 MiB per file, 256 MiB in all/)

    // ---- upload a folder: the job runs, the domain appears with its preview ----
    const folder = corpusFolder('field-notes')
    await page.getByTestId('add-files').setInputFiles(folder)
    expect(await page.getByTestId('add-name').inputValue()).toBe('field-notes') // suggested by the folder's name
    await page.getByTestId('add-submit').click()
    await page.getByTestId('add-done').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('add-done').textContent()).toMatch(/added domain "field-notes": 4 documents/)
    await page.getByTestId('domain-field-notes').waitFor()
    await page.getByTestId('open-domain-field-notes').click()
    await expect.poll(() => page.getByTestId('preview').count()).toBe(3)
    expect(await page.getByTestId('preview').first().textContent()).toMatch(/^field-notes\/more\/n2.txtNote 2 of field-notes: the heron/) // the folder keeps its layout
    expect(await page.getByTestId('domain-split').textContent()).toMatch(/train \d+ docs/)
    const uploaded = engine.store.findDomain('field-notes')!
    expect(uploaded.files).toBe(4) // the hidden file was not sent

    // ---- a path on the serving machine ----
    await page.getByTestId('source-path').check()
    await page.getByTestId('add-name').fill('')
    await page.getByTestId('add-path').fill(path.join(tempDir(), 'missing'))
    await page.getByTestId('add-name').fill('by-path')
    await page.getByTestId('add-submit').click()
    await page.getByTestId('path-error').waitFor()
    expect(await page.getByTestId('path-error').textContent()).toContain('missing')
    expect(engine.store.findDomain('by-path')).toBeNull()
    await page.getByTestId('add-path').fill(corpusFolder('on-server'))
    await page.getByTestId('add-submit').click()
    await page.getByTestId('domain-by-path').waitFor({ timeout: 60_000 })

    // ---- a stream: create, reorder by keyboard (announced), the store follows ----
    await page.getByTestId('new-stream-name').fill('mine')
    await page.getByTestId('new-stream-domain-field-notes').click()
    await page.getByTestId('new-stream-domain-by-path').click()
    await page.getByTestId('new-stream-domain-press').click()
    await page.getByTestId('new-stream-create').click()
    await page.getByTestId('stream-detail').waitFor()
    const mine = () => engine.store.listStreams().find((s) => s.name === 'mine')!
    expect(mine().domains).toEqual(['field-notes', 'by-path', 'press'])
    expect(page.url()).toMatch(new RegExp(`#/streams/stream/${mine().id}$`))
    await page.getByTestId('stream-domain-field-notes').focus()
    await page.keyboard.press('Alt+ArrowDown')
    await expect.poll(() => mine().domains).toEqual(['by-path', 'field-notes', 'press'])
    await expect.poll(() => page.getByTestId('announce').textContent()).toBe('field-notes moved to position 2 of 3')
    expect(await page.evaluate<string | null>(`document.activeElement?.getAttribute('data-testid') ?? null`)).toBe('stream-domain-field-notes') // focus follows
    await page.keyboard.press('Alt+ArrowDown')
    await expect.poll(() => mine().domains).toEqual(['by-path', 'press', 'field-notes'])
    await page.keyboard.press('Alt+ArrowUp')
    await expect.poll(() => mine().domains).toEqual(['by-path', 'field-notes', 'press'])

    // ---- and by drag and drop ----
    await page.getByTestId('stream-domain-press').dragTo(page.getByTestId('stream-domain-by-path'))
    await expect.poll(() => mine().domains).toEqual(['press', 'by-path', 'field-notes'])

    // ---- rename a domain no run used: the stream follows ----
    await page.getByTestId('open-domain-by-path').click()
    await page.getByTestId('domain-rename').fill('server-notes')
    await page.getByTestId('domain-rename-submit').click()
    await page.getByTestId('domain-server-notes').waitFor()
    await expect.poll(() => mine().domains).toEqual(['press', 'server-notes', 'field-notes'])
    await page.getByTestId('stream-domain-server-notes').waitFor()

    // ---- bad input: a binary file fails at the files field, and no domain is left behind ----
    await page.getByTestId('source-folder').check()
    const binary = path.join(tempDir(), 'blobs')
    fs.mkdirSync(binary)
    fs.writeFileSync(path.join(binary, 'blob.txt'), Buffer.from([0xff, 0xfe, 0, 1, 0x80, 0x81, 0, 0, 0xc3]))
    await page.getByTestId('add-files').setInputFiles(binary)
    await page.getByTestId('add-name').fill('blobs')
    await page.getByTestId('add-submit').click()
    await page.getByTestId('files-error').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('files-error').textContent()).toContain('blob.txt')
    expect(engine.store.findDomain('blobs')).toBeNull()

    // ---- the built-in stream: read-only, duplicated into an editable copy ----
    await page.getByTestId('open-stream-default').click()
    expect(await page.getByTestId('stream-detail').textContent()).toContain('read-only')
    expect(await page.getByTestId('stream-delete').count()).toBe(0)
    await page.getByTestId('stream-copy-name').fill('my default')
    await page.getByTestId('stream-duplicate').click()
    await expect.poll(() => engine.store.listStreams().find((s) => s.name === 'my default')?.builtin).toBe(false)
    await page.getByTestId('stream-delete').waitFor() // the copy is editable

    // ---- a deep link opens a stream ----
    await page.goto(`${server.url}#/streams/stream/${mine().id}`)
    await page.getByTestId('stream-domain-press').waitFor()

    // ---- deleting a domain a run trained on is refused, naming the run ----
    const run = engine.store.createRun(engine.store.ensureExperiment('used-notes', config('used-notes', ['field-notes'])).id, { streamId: mine().id })
    // ---- and deleting the stream it recorded is refused, naming it ----
    await page.getByTestId('stream-delete').click()
    await page.getByTestId('stream-error').waitFor()
    expect(await page.getByTestId('stream-error').textContent()).toContain(`stream "mine" cannot be deleted: run ${run.id} ran on it`)
    await page.getByTestId('open-domain-field-notes').click()
    await page.getByTestId('domain-delete').click()
    await page.getByTestId('domain-error').waitFor()
    expect(await page.getByTestId('domain-error').textContent()).toContain(`run ${run.id} trained on it`)
    expect(engine.store.findDomain('field-notes')).not.toBeNull()
    await expect.poll(() => page.getByTestId('domain-runs').textContent()).toContain(`run ${run.id} used-notes`)

    // ---- axe-core on the view: no serious or critical violations ----
    await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')) // evaluated over the devtools protocol: the page's CSP allows no inline script
    const violations = await page.evaluate<string[]>(
      `axe.run(document.querySelector('[data-testid="streams-view"]'), { resultTypes: ['violations'] }).then((r) =>
         r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ' (' + v.nodes.length + ')'))`
    )
    expect(violations).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })
})
