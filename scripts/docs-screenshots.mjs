// npm run docs:screenshots: the pictures of docs/workbench.md, regenerated from the real app.
// Browser mode on a temp store and data directory (the built-in stream is prepared there), two tiny runs on a
// three-domain stream (ELLE with two growths, and the naive baseline) so that Runs and Compare have something to
// show, then Chromium (playwright-core, /usr/bin/chromium or ELLE_CHROMIUM) at 1280x800 visits each view through
// its route and writes docs/img/workbench-*.png. Nothing of the user's own store or data directory is touched.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const elleBin = path.join(root, 'bin', 'elle.mjs')
const outDir = path.join(root, 'docs', 'img')
const chromiumPath = process.env.ELLE_CHROMIUM ?? '/usr/bin/chromium'
const VIEWPORT = { width: 1400, height: 900 }
const STEPS = Number(process.env.DOCS_STEPS ?? 12) // per stage: enough for a few validation points, seconds on 2 cores

if (!fs.existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}; install it (apt-get install -y chromium) or set ELLE_CHROMIUM`)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'elle-docs-'))
const db = path.join(tmp, 'store.sqlite')
const env = { ...process.env, ELLE_DATA_DIR: tmp, ELLE_DB: db }
const t0 = Date.now()
const log = (message) => console.error(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${message}`)
const elle = (...args) => {
  log(`elle ${args.join(' ')}`)
  return execFileSync(process.execPath, [elleBin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 })
}

const DOMAINS = ['press', 'hobbies', 'learned']
const base = (name, growth) => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 4, validateEvery: 4, validationSequences: 16, seed: 1 },
  stages: DOMAINS.map((domain, i) => ({ domain, steps: STEPS, ...(growth && i > 0 ? { grow: { layers: 1, heads: 1 }, frwSteps: 2 } : {}) })),
  ...(growth ? { replay: { ratio: 0.2 } } : { method: { name: 'naive' } })
})

let server = null
let browser = null
try {
  elle('domains') // prepares the built-in stream in the temp data directory and registers it
  elle('streams', 'create', 'news-hobbies-science', ...DOMAINS)
  for (const config of [base('tour-elle', true), base('tour-naive', false)]) {
    const file = path.join(tmp, `${config.name}.json`)
    fs.writeFileSync(file, JSON.stringify(config, null, 2))
    elle('run', file)
  }

  // an overnight queue held by a closed window: a sweep of ELLE, naive and EWC over two seeds, waiting for 20:00-07:30
  const sweepFile = path.join(tmp, 'tour-elle.json')
  elle('queue', 'pause')
  elle('queue', 'sweep', sweepFile, '--group', 'overnight', '--methods', 'elle,naive,ewc', '--seeds', '1,2', '--fresh')
  elle('queue', '--window', '20:00-07:30', '--days', 'weekdays')

  server = spawn(process.execPath, [elleBin, 'serve', '--port', '0', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const first = await new Promise((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`elle serve exited with ${code}`)))
    readline.createInterface({ input: server.stdout }).once('line', resolve)
  })
  const { url } = JSON.parse(first)
  const origin = url.slice(0, url.indexOf('?'))

  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] })
  const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: 'dark' })
  await page.goto(url) // trades the token for a cookie
  await page.getByTestId('runs-view').waitFor()
  const runs = JSON.parse(elle('runs', '--json'))
  const list = Array.isArray(runs) ? runs : runs.runs
  const elleRun = list.find((r) => r.experimentName === 'tour-elle')
  const naiveRun = list.find((r) => r.experimentName === 'tour-naive')

  fs.mkdirSync(outDir, { recursive: true })
  const shot = async (name, hash, ready) => {
    await page.goto(`${origin}${hash}`)
    await ready()
    await page.waitForTimeout(300) // let charts settle
    const file = path.join(outDir, `workbench-${name}.png`)
    await page.screenshot({ path: file })
    log(`${path.relative(root, file)}  ${(fs.statSync(file).size / 1024).toFixed(0)} kB`)
  }
  await shot('streams', '#/streams', () => page.getByTestId('streams-view').waitFor())
  await shot('designer', `#/schedules/run/${elleRun.id}`, async () => {
    // the clone of the ELLE run is loaded (not the scratch draft the designer opens with)
    await page.waitForFunction((name) => document.querySelector('[data-testid="save-name"]')?.value === name, `run-${elleRun.id}-copy`)
    await page
      .getByTestId('plan-2')
      .filter({ hasText: '(measured)' })
      .waitFor({ timeout: 10_000 })
      .catch(() => undefined)
  })
  await shot('runs', `#/runs/run/${elleRun.id}`, () => page.getByTestId('curve-ap_geo').locator('canvas').first().waitFor())
  await shot('queue', '#/queue', () => page.locator('.queue-row').first().waitFor())
  await shot('compare', '#/compare', async () => {
    await page.getByTestId('compare-view').waitFor()
    for (const run of [elleRun, naiveRun]) await page.getByTestId(`compare-pick-${run.id}`).check()
    await page.getByTestId('compare-summary').waitFor({ timeout: 60_000 })
  })
  await page.keyboard.press('?') // the shortcut overlay, over the Compare view
  await page.getByTestId('shortcut-help').waitFor()
  await page.screenshot({ path: path.join(outDir, 'workbench-shortcuts.png') })
  log(`docs/img/workbench-shortcuts.png  ${(fs.statSync(path.join(outDir, 'workbench-shortcuts.png')).size / 1024).toFixed(0)} kB`)
} finally {
  await browser?.close()
  server?.kill('SIGTERM')
  if (server) await new Promise((resolve) => (server.exitCode !== null ? resolve() : server.once('exit', resolve)))
  fs.rmSync(tmp, { recursive: true, force: true })
}
