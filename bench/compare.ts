// npm run bench:compare — the comparison at scale (issue 15): a store with 100 runs × 6 domains × 100,000 steps
// of metrics, then, in the real browser (Debian Chromium via playwright-core) against the real HTTP transport:
// the first draw of all 100 runs' loss curves, the redraw after toggling smoothing and after zooming, and the
// page's memory. Targets: first draw < 2 s, redraw < 1 s, page memory < 1 GB (docs/benchmarks.md).
// The store is filled once and kept (ELLE_BENCH_COMPARE_DIR, default <tmp>/elle-bench-compare); --refill rebuilds it.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { openEngineApi, type EngineApi } from '../src/main/engine/api/facade'
import { ExperimentStore, type MetricPoint } from '../src/main/engine/store/store'
import { rendererDir } from '../src/main/app-root'
import { startBrowserServer } from '../src/main/transports/http/server'
import { querySeries } from '../src/main/engine/series/query'
import { SeriesResult, type SeriesQuery } from '../src/shared/series'
import type { DrawTiming } from './compare-page'
import type { ViewState } from '../src/shared/view-state'
import type { Page } from 'playwright-core'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    steps: { type: 'string', default: '100000' },
    repeats: { type: 'string', default: '3' },
    refill: { type: 'boolean' },
    // only the real Compare view, or only the bare page
    view: { type: 'boolean' },
    bare: { type: 'boolean' },
    // a Chrome CPU profile of the real view's first draw and smoothing redraw, written next to the store (open in Chrome's DevTools)
    profile: { type: 'boolean' }
  }
})
const RUNS = Number(values.runs)
const STEPS = Number(values.steps)
const REPEATS = Number(values.repeats)
const DOMAINS = ['press', 'humanities', 'fiction', 'code', 'learned', 'forum']
const METHODS = ['elle', 'naive', 'er', 'ewc', 'mas']
const VALIDATE_EVERY = 1000
const dir = process.env.ELLE_BENCH_COMPARE_DIR ?? path.join(os.tmpdir(), 'elle-bench-compare')
const dbPath = path.join(dir, `store-${RUNS}x${STEPS}.sqlite`)
const CHROMIUM = process.env.ELLE_CHROMIUM ?? '/usr/bin/chromium'

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6

/** A plausible run: per-step loss (falling, a bump at each new domain, one spike), validations every 1,000 steps, params at each stage. */
function fill(): { seconds: number; rows: number } {
  fs.mkdirSync(dir, { recursive: true })
  for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) fs.rmSync(f, { force: true })
  const store = ExperimentStore.open(dbPath)
  const t0 = process.hrtime.bigint()
  let rows = 0
  const perStage = Math.ceil(STEPS / DOMAINS.length)
  for (let r = 0; r < RUNS; r++) {
    const method = METHODS[r % METHODS.length]!
    const seed = Math.floor(r / METHODS.length)
    const elle = method === 'elle'
    const config = {
      name: `bench-${method}`,
      model: { kind: 'gpt', layers: 4, heads: 4, headSize: 32 },
      method: { name: method },
      training: { seed },
      stages: DOMAINS.map((domain, i) => ({ domain, steps: perStage, ...(elle && i > 0 ? { grow: { layers: 1, heads: 1 } } : {}) }))
    }
    const run = store.createRun(store.ensureExperiment(config.name, config).id, { backend: 'bench' })
    store.setRunStatus(run.id, 'running')
    let wall = 0
    let flops = 0
    let rand = 1 + r * 7919
    const noise = (): number => ((rand = (rand * 16807) % 2147483647) / 2147483647 - 0.5) * 0.1
    let batch: MetricPoint[] = []
    const flush = () => (store.insertMetrics(batch), (rows += batch.length), (batch = []))
    const spikeAt = Math.floor(STEPS * (0.3 + 0.4 * (r / RUNS)))
    for (let step = 0; step < STEPS; step++) {
      const stage = Math.min(DOMAINS.length - 1, Math.floor(step / perStage))
      const phase = { kind: 'train', stage, domain: DOMAINS[stage]! }
      const params = 1.2e6 * (elle ? 1 + stage * 0.5 : 1 + (DOMAINS.length - 1) * 0.5)
      wall += 0.02 * (params / 1.2e6)
      flops += 6 * params * 4096
      const at = { runId: run.id, phase, step, tokensSeen: step * 4096, wallS: wall, flops }
      if (step % perStage === 0) batch.push({ ...at, name: 'params', value: params })
      const sinceStage = step - stage * perStage
      const loss = 2.5 + 2 * Math.exp(-step / (STEPS / 5)) + 0.8 * Math.exp(-sinceStage / 2000) + noise() + seed * 0.01 + (step === spikeAt ? 40 : 0)
      batch.push({ ...at, name: 'loss', value: loss })
      if (step % VALIDATE_EVERY === VALIDATE_EVERY - 1) {
        const ppl = DOMAINS.slice(0, stage + 1).map((_, j) => Math.exp(loss) * (1 + 0.05 * (stage - j)))
        ppl.forEach((v, j) => batch.push({ ...at, name: `ppl/${DOMAINS[j]}`, value: v }))
        batch.push({ ...at, name: 'ap', value: ppl.reduce((a, b) => a + b, 0) / ppl.length })
        batch.push({ ...at, name: 'ap_geo', value: Math.exp(ppl.reduce((a, b) => a + Math.log(b), 0) / ppl.length) })
      }
      if (batch.length >= 10_000) flush()
    }
    flush()
    store.setRunStatus(run.id, 'finished')
    if ((r + 1) % 10 === 0) console.error(`filled ${r + 1}/${RUNS} runs (${rows.toLocaleString('en-US')} rows, ${(ms(t0) / 1000).toFixed(0)} s)`)
  }
  store.close()
  return { seconds: ms(t0) / 1000, rows }
}

async function pageBundle(): Promise<string> {
  const out = await build({
    entryPoints: [path.resolve('bench/compare-page.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    minify: true,
    logLevel: 'warning'
  })
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'elle-bench-compare-page-'))
  fs.writeFileSync(path.join(folder, 'bench.js'), out.outputFiles[0]!.text)
  fs.writeFileSync(
    path.join(folder, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>bench:compare</title></head><body><div id="chart" style="width:1200px;height:600px"></div><script src="/bench.js"></script></body></html>'
  )
  return folder
}

/** The page's few globals the measurements read (the node tsconfig has no DOM types); types only, erased before the functions run in the page. */
interface PageElement {
  getAttribute(name: string): string | null
  echart?: { getOption(): { series?: unknown[] }; dispatchAction(action: object): void }
}
interface PageGlobals {
  document: { querySelector(selector: string): PageElement | null }
}

/**
 * When the curves panel's `loss` chart shows `lines` lines (smoothed or not, as asked; the first line standing for
 * at most `maxPoints` points) and nothing is loading: ms since the page's time origin, after the frame that shows it.
 */
function drawnAt(page: Page, lines: number, smoothed: boolean | null = null, maxPoints = Infinity): Promise<number> {
  return page.evaluate(
    ([lines, smoothed, maxPoints]) =>
      new Promise<number>((resolve) => {
        const g = globalThis as unknown as PageGlobals & { requestAnimationFrame(cb: () => void): void }
        const check = () => {
          const panel = g.document.querySelector('[data-testid="curves-panel"]')
          const chart = g.document.querySelector('[data-testid="curve-loss"]')
          const drawn = (chart?.getAttribute('data-lines') ?? '').split('|').filter(Boolean).length
          const points = Number((chart?.getAttribute('data-points') ?? '').split('|')[0] ?? NaN)
          const ready =
            panel?.getAttribute('data-loading') === 'false' &&
            // ECharts has drawn the chart's current option (charts are made in a task of their own: init-queue.ts)
            chart?.getAttribute('data-rendered') === 'true' &&
            drawn === lines &&
            points <= maxPoints &&
            (smoothed === null || chart?.getAttribute('data-smoothed') === String(smoothed))
          if (ready) g.requestAnimationFrame(() => g.requestAnimationFrame(() => resolve(performance.now())))
          else g.requestAnimationFrame(check)
        }
        check()
      }),
    [lines, smoothed, maxPoints] as const
  )
}

interface ApiTiming {
  method: string
  /** when the page asked (ms from its time origin) */
  start: number
  /** before it was sent (the browser's queue) */
  queued: number
  /** from sending to the answer's first byte: the server */
  waiting: number
  /** reading the answer */
  reading: number
}

/** The page's own account of each API call since `from` (Resource Timing, ms from its time origin). */
function apiTimings(page: Page, from: number): Promise<ApiTiming[]> {
  return page.evaluate(
    (from) =>
      (globalThis as unknown as { performance: { getEntriesByType(t: string): Array<Record<string, number | string>> } }).performance
        .getEntriesByType('resource')
        .filter((e) => String(e.name).includes('/api/rpc/') && Number(e.startTime) >= from)
        .map((e) => ({
          method: String(e.name)
            .slice(String(e.name).indexOf('/api/rpc/') + 9)
            .split('?')[0]!,
          start: Number(e.startTime),
          queued: Number(e.requestStart) - Number(e.startTime),
          waiting: Number(e.responseStart) - Number(e.requestStart),
          reading: Number(e.responseEnd) - Number(e.responseStart)
        })),
    from
  )
}

const describeTimings = (timings: ApiTiming[]): string =>
  timings.map((r) => `${r.method} at ${r.start.toFixed(0)}: queued ${r.queued.toFixed(0)}, waiting ${r.waiting.toFixed(0)}, reading ${r.reading.toFixed(0)}`).join('; ')

/** ms since the page's time origin */
const now = (page: Page): Promise<number> => page.evaluate(() => performance.now())

/**
 * The page the user opens: the workbench's own renderer (out/renderer) over the real HTTP transport, on a saved
 * view's link (`#/compare?view=ID`: all the runs picked, `loss` against step). First draw: from navigation to the
 * frame that shows the curves panel's chart of every run (the view's runs.compare and its other panels included);
 * then smoothing toggled in the panel's select, and a zoom to 40–60% dispatched on the chart (the panel waits 150 ms
 * for a zoom gesture to settle before it asks, included).
 */
async function realView(browser: import('playwright-core').Browser, runIds: number[], results: Record<string, number[]>): Promise<void> {
  const engine = await openEngineApi({ dbPath, mode: 'browser', queue: 'own', backend: { flag: 'cpu' } })
  const server = await startBrowserServer({ handler: engine.handler, events: engine.events, rendererDir: rendererDir(), port: 0 })
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  // the request timeline of the first draw: each API call, when it left and when its answer was in (ms from navigation)
  let t0 = Date.now()
  const timeline: Array<{ method: string; sent: number; done: number | null }> = []
  const rpc = (url: string): string | null => (url.includes('/api/rpc/') ? url.slice(url.indexOf('/api/rpc/') + 9).split('?')[0]! : null)
  page.on('request', (r) => {
    const method = rpc(r.url())
    if (method) timeline.push({ method, sent: Date.now() - t0, done: null })
  })
  page.on('requestfinished', (r) => {
    const method = rpc(r.url())
    const entry = method ? timeline.find((e) => e.method === method && e.done === null) : undefined
    if (entry) entry.done = Date.now() - t0
  })
  const cdp = await page.context().newCDPSession(page)
  try {
    if (values.profile) {
      await cdp.send('Profiler.enable')
      await cdp.send('Profiler.start')
    }
    const state: ViewState = {
      compare: {
        runs: runIds,
        metrics: ['loss'],
        x: 'step',
        logY: false,
        smoothing: { kind: 'none', param: 0 },
        grouping: { by: 'none', stat: 'mean', band: 'none', members: false },
        range: null
      },
      table: { columns: ['id', 'experiment', 'status', 'method'], filter: '', search: '', sort: null }
    }
    const existing = (await engine.call('views.list', {})).views.find((v) => v.name === 'bench:compare')
    const view = await engine.call('views.save', { ...(existing ? { id: existing.id } : {}), name: 'bench:compare', state })
    t0 = Date.now()
    await page.goto(`${server.openUrl}#/compare?view=${view.id}`)
    const first = await drawnAt(page, runIds.length)
    results.viewFirst!.push(first)
    const drawnAfter = Date.now() - t0
    // the requests of the first draw, and those the view sends once it drew (runs.compare waits for the curves)
    await page.waitForTimeout(0)
    console.error(`first draw's requests (ms from navigation; curves drawn at ~${drawnAfter}): ` + timeline.map((e) => `${e.method} ${e.sent}–${e.done ?? '…'}`).join(', '))
    // the first draw's parts: the app's boot (until its first API call), until the curves' request left, its answer in
    const firstCalls = await apiTimings(page, 0)
    const series = firstCalls.find((c) => c.method === 'runs.series')
    if (firstCalls.length > 0 && series) {
      results.viewBoot!.push(firstCalls[0]!.start)
      results.viewSeriesSent!.push(series.start)
      results.viewSeriesServer!.push(series.waiting)
      results.viewSeriesIn!.push(series.start + series.queued + series.waiting + series.reading)
    }
    console.error(`first draw's requests as the page saw them (ms): ${describeTimings(firstCalls)}`)
    // smoothing on: the panel's own control. Timed from the change event the user's pick makes (its timeStamp), not from
    // when the bench asked: playwright's actionability checks before it picks are no part of the redraw
    await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: { querySelector(s: string): { addEventListener(t: string, f: (e: { timeStamp: number }) => void): void } | null }
        changedAt?: number
      }
      g.document.querySelector('[data-testid="curves-smoothing"]')!.addEventListener('change', (e) => (g.changedAt = e.timeStamp))
    })
    await page.getByTestId('curves-smoothing').selectOption('ema')
    const t1 = await page.evaluate(() => (globalThis as unknown as { changedAt?: number }).changedAt)
    if (t1 === undefined) throw new Error('the smoothing select fired no change event')
    const smoothed = (await drawnAt(page, runIds.length, true)) - t1
    results.viewSmoothing!.push(smoothed)
    if (values.profile) {
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: unknown }
      const file = path.join(dir, `first-draw-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`)
      fs.writeFileSync(file, JSON.stringify(profile))
      console.error(`CPU profile of the first draw and the smoothing redraw: ${file}`)
    }
    console.error(`smoothing at ${t1.toFixed(0)}, drawn at ${(t1 + smoothed).toFixed(0)}; requests since the first draw: ${describeTimings(await apiTimings(page, first - 50))}`)
    // a zoom on the chart, as the inside zoom or the slider reports it
    const t2 = await now(page)
    await page.evaluate(
      ([a, b]) =>
        (globalThis as unknown as PageGlobals).document.querySelector('[data-testid="curve-loss"]')!.echart!.dispatchAction({ type: 'dataZoom', startValue: a, endValue: b }),
      [STEPS * 0.4, STEPS * 0.6] as const
    )
    // drawn when the lines stand for the points of the range only
    const zoomed = (await drawnAt(page, runIds.length, true, STEPS * 0.3)) - t2
    results.viewZoom!.push(zoomed)
    await cdp.send('Performance.enable')
    const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }
    results.viewHeapMb!.push((metrics.find((m) => m.name === 'JSHeapTotalSize')?.value ?? 0) / 1e6)
    if (errors.length) throw new Error(`the Compare view failed: ${errors.join('; ')}`)
    console.error(`real view: first ${first.toFixed(0)} ms, smoothing ${smoothed.toFixed(0)} ms, zoom ${zoomed.toFixed(0)} ms`)
  } finally {
    await page.close()
    await server.close()
    await engine.close()
  }
}

async function main(): Promise<void> {
  let filled: { seconds: number; rows: number } | null = null
  if (values.refill || !fs.existsSync(dbPath)) filled = fill()
  // a store from before schema 12 is migrated here, and its blocks' slice summaries built (a store filled since has them)
  const prep = ExperimentStore.open(dbPath)
  const tb = process.hrtime.bigint()
  const summariesBuilt = prep.series.buildSummaries()
  const summaryBuild = { summaries: summariesBuilt, ms: Math.round(ms(tb)) }
  prep.close()
  console.error(`slice summaries: ${summariesBuilt} built in ${summaryBuild.ms} ms`)
  const storeMb = fs.statSync(dbPath).size / 1e6
  const check = ExperimentStore.open(dbPath, { readonly: true })
  const runIds = check
    .listRuns({})
    .map((r) => r.id)
    .sort((a, b) => a - b)
  const rowCount = check.db.prepare('SELECT COUNT(*) FROM metrics').pluck().get() as number
  const blockCount = check.db.prepare('SELECT COUNT(*) FROM metric_blocks').pluck().get() as number
  check.close()
  console.error(`store ${dbPath}: ${runIds.length} runs, ${rowCount.toLocaleString('en-US')} metric rows, ${blockCount} blocks, ${storeMb.toFixed(0)} MB`)

  if (REPEATS === 0) return // --repeats 0: fill only
  const full: SeriesQuery = { runs: runIds, metrics: ['loss'], x: 'step' }
  const smoothed: SeriesQuery = { ...full, smoothing: { kind: 'ema', param: 0.99 } }
  const zoomed: SeriesQuery = { ...smoothed, range: [STEPS * 0.4, STEPS * 0.6] }
  const folder = await pageBundle()
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']
  })
  const results: Record<string, number[]> = {
    viewFirst: [],
    viewBoot: [],
    viewSeriesSent: [],
    viewSeriesServer: [],
    viewSeriesIn: [],
    viewSmoothing: [],
    viewZoom: [],
    viewHeapMb: [],
    compareCold: [],
    engineCold: [],
    engineWarm: [],
    first: [],
    firstRequest: [],
    firstRender: [],
    smoothing: [],
    zoom: [],
    heapMb: [],
    bytes: [],
    storeRead: [],
    storeReadPoints: [],
    zodResult: [],
    jsonEncode: [],
    pageFetch: [],
    pageParse: [],
    pageValidate: [],
    pageOption: []
  }
  try {
    for (let rep = 0; rep < REPEATS; rep++) {
      if (!values.bare) await realView(browser, runIds, results)
      if (values.view) continue
      // a fresh engine each time: the first draw reads the blocks from the store, not from the engine's memory
      const api: EngineApi = await openEngineApi({ dbPath, mode: 'browser', queue: 'own', backend: { flag: 'cpu' } })
      try {
        // the Compare view's other request: AP, matrices, phases and totals of all the runs
        const tc = process.hrtime.bigint()
        await api.call('runs.compare', { ids: runIds })
        results.compareCold!.push(ms(tc))
        const t0 = process.hrtime.bigint()
        await api.call('runs.series', full)
        results.engineCold!.push(ms(t0))
        const t1 = process.hrtime.bigint()
        await api.call('runs.series', full)
        results.engineWarm!.push(ms(t1))
      } finally {
        await api.close()
      }
      // where the request's time goes, in-process: the engine alone (a fresh store: cold blocks), the contract's check, JSON
      const direct = ExperimentStore.open(dbPath, { readonly: true })
      try {
        // the overview as the engine answers it (slice summaries), then from every point (what it read before schema 12)
        const t2 = process.hrtime.bigint()
        querySeries(direct, full)
        results.storeRead!.push(ms(t2))
        const t2b = process.hrtime.bigint()
        const answer = querySeries(direct, full, { summaries: false })
        results.storeReadPoints!.push(ms(t2b))
        const t3 = process.hrtime.bigint()
        SeriesResult.parse(answer)
        results.zodResult!.push(ms(t3))
        const t4 = process.hrtime.bigint()
        JSON.stringify({ result: answer })
        results.jsonEncode!.push(ms(t4))
      } finally {
        direct.close()
      }
      const engine = await openEngineApi({ dbPath, mode: 'browser', queue: 'own', backend: { flag: 'cpu' } })
      const server = await startBrowserServer({ handler: engine.handler, events: engine.events, rendererDir: folder, port: 0 })
      const page = await browser.newPage({ viewport: { width: 1300, height: 800 } })
      try {
        await page.goto(server.openUrl)
        await page.waitForFunction(() => 'bench' in globalThis)
        const draw = (q: SeriesQuery) =>
          page.evaluate(async (query) => (globalThis as unknown as { bench: { draw(q: SeriesQuery, logY: boolean): Promise<DrawTiming> } }).bench.draw(query, false), q)
        const first = await draw(full)
        results.first!.push(first.totalMs)
        results.firstRequest!.push(first.requestMs)
        results.firstRender!.push(first.optionMs + first.renderMs)
        results.bytes!.push(first.bytes)
        results.pageFetch!.push(first.fetchMs)
        results.pageParse!.push(first.parseMs)
        results.pageValidate!.push(first.validateMs)
        results.pageOption!.push(first.optionMs)
        results.smoothing!.push((await draw(smoothed)).totalMs)
        results.zoom!.push((await draw(zoomed)).totalMs)
        const cdp = await page.context().newCDPSession(page)
        await cdp.send('Performance.enable')
        const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }
        results.heapMb!.push((metrics.find((m) => m.name === 'JSHeapTotalSize')?.value ?? 0) / 1e6)
        console.error(`run ${rep + 1}: first ${first.totalMs.toFixed(0)} ms (${first.lines} lines, ${first.points.toLocaleString('en-US')} points, ${first.drawn} drawn)`)
      } finally {
        await page.close()
        await server.close()
        await engine.close()
      }
    }
  } finally {
    await browser.close()
    fs.rmSync(folder, { recursive: true, force: true })
  }
  const summary = Object.fromEntries(
    Object.entries(results)
      .filter(([, v]) => v.length > 0)
      .map(([k, v]) => [k, `${Math.round(median(v))} (${v.map(Math.round).join(', ')})`])
  )
  console.log(
    JSON.stringify(
      {
        machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load ${os.loadavg()[0]!.toFixed(1)}`,
        store: { path: dbPath, runs: runIds.length, rows: rowCount, blocks: blockCount, mb: Math.round(storeMb), fill: filled, summaryBuild },
        query: { lines: runIds.length, pointsPerLine: STEPS, buckets: 800 },
        ms: summary,
        targets: { firstDrawMs: 2000, redrawMs: 1000, pageMemoryMb: 1000 }
      },
      null,
      2
    )
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
