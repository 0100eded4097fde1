import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { compareRuns, renderReport } from '../../../src/main/engine/compare'
import { compareCommand } from '../../../src/main/cli/commands/compare'
import { UsageError } from '../../../src/main/cli/args'
import type { ExperimentStore } from '../../../src/main/engine/store/store'
import { tempDir } from '../../helpers/tmp'
import { runColor } from '../../../src/shared/charts/palette'
import { config, createRun, simulateRun, tempStore } from './fixtures'
import { writeIntervals } from './intervals'
import { downstreamRows } from '../../../src/shared/lifelong/downstream'
import { savedRow } from '../../../src/shared/lifelong/saved'
import { stageAp } from '../../../src/shared/lifelong/stage'
import { bwtFwt } from '../../../src/shared/lifelong/transfer'
import { formatScore, formatWithInterval } from '../../../src/shared/plot'
import type { RunComparison } from '../../../src/shared/contract'

const STREAM = ['press', 'humanities', 'hobbies', 'learned']
let store: ExperimentStore | undefined
afterEach(() => {
  store?.close()
  store = undefined
  vi.restoreAllMocks()
})

/** ELLE, ER and naive runs over four domains, with downstream scores for two of them. */
function threeRuns() {
  store = tempStore()
  const elle = createRun(store, config('elle-gpt <demo>', STREAM, { grow: true }))
  simulateRun(store, elle, STREAM, { secondsPerStep: [0.05, 0.1, 0.15, 0.2], flopsPerStep: [1e10, 2e10, 3e10, 4e10], params: [2e5, 4e5, 6e5, 8e5], frw: 10, floor: 90, forget: 8 })
  const er = createRun(store, config('er-gpt', STREAM, { replay: 0.1 }))
  simulateRun(store, er, STREAM, { secondsPerStep: [0.2, 0.2, 0.2, 0.2], flopsPerStep: [4e10, 4e10, 4e10, 4e10], params: [8e5, 8e5, 8e5, 8e5], floor: 120, forget: 15 })
  const naive = createRun(store, config('naive-gpt', STREAM))
  simulateRun(store, naive, STREAM, { secondsPerStep: [0.2, 0.2, 0.2, 0.2], flopsPerStep: [4e10, 4e10, 4e10, 4e10], params: [8e5, 8e5, 8e5, 8e5], floor: 115, forget: 40 })
  for (const [run, base] of [
    [elle, 0.82],
    [er, 0.74]
  ] as const) {
    store.addEvaluations(
      [0, 1, 2].flatMap((seed) => [
        { runId: run, task: 'spam-detection', domain: 'spam', metric: 'macro_f1', value: base + 0.02 * (seed - 1), seed },
        { runId: run, task: 'genre', domain: 'learned', metric: 'accuracy', value: base - 0.1 + 0.01 * seed, seed }
      ])
    )
  }
  return { elle, er, naive }
}

describe('the HTML report', () => {
  it('has one SVG per plot, a heat map per run, the downstream table and the compute-saved sentence; no scripts, no external resources', () => {
    const { elle, er, naive } = threeRuns()
    const c = compareRuns(store!, [elle, er, naive])
    const html = renderReport(c, { generatedAt: new Date('2025-01-01T00:00:00Z') })
    const svgs = html.match(/<svg[\s>][^>]*>/g) ?? []
    expect(svgs.filter((s) => s.includes('class="chart"'))).toHaveLength(2)
    expect(svgs.filter((s) => s.includes('class="heatmap"'))).toHaveLength(3)
    expect(html).toContain('aria-label="AP against training wall time"')
    expect(html).toContain('aria-label="AP against training FLOPs"')
    for (const id of [elle, er, naive]) expect(html).toMatch(new RegExp(`aria-label="#${id} [^"]*" class="heatmap"`))
    // the heat maps show the stage ends with values in the cells, one colour legend each
    expect((html.match(/perplexity \(log\)/g) ?? []).length).toBe(3)
    expect(html).toContain('after learned (')
    // the curves: each run in its own colour (as in the views), the legend with point counts, ELLE's growth markers
    for (const id of [elle, er, naive]) expect(html).toContain(`stroke="${runColor(id)}"`)
    expect(html).toMatch(/#\d+ elle · \d+ pts/)
    expect(html).toContain('#' + elle + ' grew: 200.0k → 400.0k params')
    // downstream: both tasks, mean ± std over three seeds, '–' for the run without scores
    expect(html).toContain('id="downstream-table"')
    expect(html).toContain('0.820 ± 0.020 (n=3)')
    expect(html).toMatch(/<td class="text">genre<\/td><td class="text">learned<\/td><td class="text">accuracy<\/td>/)
    // compute saved: the sentences, against both baselines
    expect(c.computeSaved).toHaveLength(2)
    for (const s of c.computeSaved) expect(html).toContain(s.sentence.replace(/</g, '&lt;').replace(/>/g, '&gt;'))
    expect(html).toMatch(/reached the final AP of #\d+ er/)
    // user text is escaped
    expect(html).toContain('elle-gpt &lt;demo&gt;')
    expect(html).not.toContain('<demo>')
    // standalone: no scripts, no URLs, no external references of any kind
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/https?:|\/\/[a-z]/i)
    expect(html).not.toMatch(/\s(src|href)=/i)
    expect(html.match(/url\(([^)]*)\)/g)?.every((u) => u.startsWith('url(#'))).toBe(true)
    expect(html).not.toMatch(/@import/)
  })

  it('says when no downstream results and no ELLE run are present', () => {
    const { er, naive } = threeRuns()
    store!.db.prepare('DELETE FROM evaluations').run()
    const html = renderReport(compareRuns(store!, [er, naive]))
    expect(html).toContain('No downstream results are stored for these runs.')
    expect(html).toContain('No ELLE run among these runs')
  })
})

/** A table of the report by id: each body row's cells as text (tags stripped, entities decoded), and its attributes. */
function parseTable(html: string, id: string): Array<{ attrs: string; cells: string[]; cellAttrs: string[] }> {
  const m = html.match(new RegExp(`<table[^>]*id="${id}"[^>]*>([\\s\\S]*?)</table>`))
  if (!m) throw new Error(`no table #${id} in the report`)
  const body = m[1]!.match(/<tbody>([\s\S]*)<\/tbody>/)![1]!
  const text = (s: string) =>
    s
      .replace(/<div class="verdict">([\s\S]*?)<\/div>/g, ' | $1')
      .replace(/<[^>]+>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
      .trim()
  return [...body.matchAll(/<tr([^>]*)>([\s\S]*?)<\/tr>/g)].map((r) => {
    const cells = [...r[2]!.matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)]
    return { attrs: r[1]!, cells: cells.map((c) => text(c[2]!)), cellAttrs: cells.map((c) => c[1]!) }
  })
}

describe('the HTML report: the views’ tables', () => {
  /** three runs with bootstrap bounds, a forgetting matrix on the ELLE run, downstream scores on two */
  function withEverything(): { c: RunComparison; elle: number; er: number; naive: number } {
    const ids = threeRuns()
    for (const id of Object.values(ids)) writeIntervals(store!, id, 0.04)
    const c = compareRuns(store!, [ids.elle, ids.er, ids.naive])
    const R = [
      [0.81, 0.42, 0.4, 0.38],
      [0.74, 0.83, 0.45, 0.41],
      [0.7, 0.79, 0.8, 0.47],
      [0.66, 0.77, 0.75, 0.84]
    ]
    const baseline = [0.35, 0.36, 0.34, 0.33]
    const t = bwtFwt(R, baseline)
    c.runs[0]!.transfer = { jobId: 9, domains: STREAM, tasks: STREAM.map(() => 'genre'), R, std: R.map((r) => r.map(() => 0.01)), baseline, bwt: t.bwt, fwt: t.fwt, seeds: 3 }
    return { c, ...ids }
  }

  it('per-stage AP/AP+ with intervals: every run, every stage end, the values stageAp derives', () => {
    const { c } = withEverything()
    const html = renderReport(c)
    for (const r of c.runs) {
      const want = stageAp(r)
      expect(want).toHaveLength(STREAM.length)
      expect(want.every((x) => x.ci.ap !== null && x.ci.apGeo !== null)).toBe(true)
      const rows = parseTable(html, `stages-${r.id}`)
      expect(rows.map((x) => x.attrs)).toEqual(want.map((x) => ` data-step="${x.step}"`))
      rows.forEach((row, i) => {
        const x = want[i]!
        expect(row.cells[0]).toBe(`${x.stage! + 1}. ${x.domain}`)
        expect(row.cells.slice(5)).toEqual([formatWithInterval(x.apGeo, x.ci.apGeo), formatWithInterval(x.ap, x.ci.ap), formatWithInterval(x.apPlus, x.ci.apPlus)])
      })
      // an interval is printed, not just the value
      expect(rows.at(-1)!.cells[6]).toMatch(/^[\d.]+ \[[\d.]+, [\d.]+\]$/)
    }
  })

  it('transfer: BWT, FWT and forgetting from the downstream matrix', () => {
    const { c, elle } = withEverything()
    const html = renderReport(c)
    const t = bwtFwt(c.runs[0]!.transfer!.R, c.runs[0]!.transfer!.baseline)
    const rows = parseTable(html, 'transfer-table')
    expect(rows).toHaveLength(1)
    const sign = (v: number) => `${v > 0 ? '+' : ''}${v.toFixed(3)}`
    expect(rows[0]!.cells[0]).toBe(`#${elle}`)
    expect(rows[0]!.cells.slice(4, 7)).toEqual([sign(t.bwt!), sign(t.fwt!), sign(t.meanForgetting!)])
    expect(rows[0]!.cells[7]).toBe(t.forgetting.map((f, j) => `${STREAM[j]} ${sign(f!)}`).join(', '))
    // the hand numbers: BWT = mean(0.66−0.81, 0.77−0.83, 0.75−0.8) = −0.0867
    expect(rows[0]!.cells[4]).toBe('-0.087')
    // without any matrix, the report says so
    c.runs[0]!.transfer = null
    expect(renderReport(c)).toContain('id="transfer-empty"')
  })

  it('downstream: significance against the chosen reference run (Welch), as downstreamRows derives it', () => {
    const { c, elle, er, naive } = withEverything()
    for (const reference of [elle, er]) {
      const html = renderReport(c, { reference })
      const want = downstreamRows(c.runs, reference)
      const rows = parseTable(html, 'downstream-table')
      expect(rows).toHaveLength(want.length)
      rows.forEach((row, i) => {
        const w = want[i]!
        expect(row.cells.slice(0, 3)).toEqual([w.task, w.domain, w.metric])
        w.cells.forEach((cell, j) => {
          const got = row.cells[3 + j]!
          if (cell === null) return expect(got).toBe('–')
          expect(got).toBe(`${formatScore(cell.mean, cell.std, cell.seeds)} | ${cell.verdict ?? 'reference'}`)
          expect(row.cellAttrs[3 + j]!.includes('best')).toBe(cell.best)
          expect(row.cellAttrs[3 + j]!.includes('sig')).toBe(cell.test?.significant ?? false)
        })
      })
      expect(html).toContain(`Against the reference run #${reference}`)
    }
    // elle 0.82 ± 0.02 against er 0.74 ± 0.02 over three seeds: significant
    const rows = parseTable(renderReport(c, { reference: er }), 'downstream-table')
    expect(rows[0]!.cells[3]).toMatch(/^0\.820 ± 0\.020 \(n=3\) \| p [=<] 0\.0\d+ \(n 3 vs 3\)$/)
    expect(rows[0]!.cells[5]).toBe('–')
    expect(naive).toBeGreaterThan(0)
  })

  it('compute saved: a row per baseline with the FLOPs and wall-time share and its interval', () => {
    const { c } = withEverything()
    const html = renderReport(c)
    const rows = parseTable(html, 'compute-saved-table')
    expect(c.computeSaved).toHaveLength(2)
    expect(rows).toHaveLength(2)
    rows.forEach((row, i) => {
      const s = c.computeSaved[i]!
      expect(row.attrs).toContain(`data-pair="${s.elleRunId}-${s.otherRunId}"`)
      expect(row.cells.slice(3)).toEqual([savedRow(s).flops, savedRow(s).wall])
    })
    const reached = c.computeSaved.find((s) => s.reached && s.ci?.flopsFraction)
    expect(reached).toBeDefined()
    expect(rows[c.computeSaved.indexOf(reached!)]!.cells[3]).toMatch(/^[\d.]+% \[[\d.]+%, ([\d.]+%|not reached)\]$/)
  })
})

describe('elle compare (command)', () => {
  async function run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }) {
    const out: string[] = []
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')))
    const code = await compareCommand.run(args)
    return { code, out: out.join('\n') }
  }

  it('prints a table with AP, AP+, wall, FLOPs, params, downstream and compute saved; --json; --report writes the file', async () => {
    const db = path.join(tempDir(), 'cli.sqlite')
    const { elle, er } = threeRuns()
    store!.db.pragma('wal_checkpoint(TRUNCATE)')
    fs.copyFileSync(store!.path, db)
    const text = await run({ values: { db }, positionals: [String(elle), String(er)] })
    expect(text.code).toBe(0)
    expect(text.out).toContain('stream: press → humanities → hobbies → learned')
    expect(text.out).toMatch(/run\s+experiment\s+method\s+seed\s+status\s+geo AP \[95% CI\]\s+AP \[95% CI\]\s+AP\+ \[95% CI\]\s+domains\s+wall\s+FLOPs\s+params/)
    expect(text.out).toMatch(new RegExp(`${elle}\\s+elle-gpt <demo>\\s+elle \\(ELLE\\)\\s+0\\s+finished`))
    // hand-written metrics have no intervals: one seed per method, so every difference is within noise
    expect(text.out).toMatch(/ranking by geometric AP/)
    expect(text.out).toMatch(/geo AP: elle vs er: within noise \(.*no interval/)
    expect(text.out).toContain('200.0k → 800.0k')
    expect(text.out).toMatch(/spam-detection\s+spam\s+macro_f1\s+final\s+0\.820 ± 0\.020 \(n=3\)\s+0\.740 ± 0\.020 \(n=3\)/)
    expect(text.out).toMatch(/compute saved:\n {2}#\d+ elle \(ELLE\) reached the final AP of #\d+ er/)

    const report = path.join(tempDir(), 'out', 'cmp.html')
    const json = await run({ values: { db, json: true, report }, positionals: [String(elle), String(er)] })
    const parsed = JSON.parse(json.out) as { report: string; runs: unknown[]; computeSaved: Array<{ reached: boolean }> }
    expect(parsed.report).toBe(report)
    expect(parsed.runs).toHaveLength(2)
    expect(parsed.computeSaved[0]!.reached).toBe(true)
    expect(fs.readFileSync(report, 'utf8')).toMatch(/^<!doctype html>/)
  })

  it('refuses bad ids as usage errors and different streams as a failure naming the field', async () => {
    const db = path.join(tempDir(), 'cli2.sqlite')
    await expect(compareCommand.run({ values: { db }, positionals: [] })).rejects.toThrow(UsageError)
    await expect(compareCommand.run({ values: { db }, positionals: ['3', 'x'] })).rejects.toThrow('run ids are positive integers, got "x"')
    await expect(compareCommand.run({ values: { db, reference: '3' }, positionals: ['3'] })).rejects.toThrow('--reference applies to --report only')
    await expect(compareCommand.run({ values: { db, report: path.join(tempDir(), 'r.html'), reference: '4' }, positionals: ['3'] })).rejects.toThrow(
      '--reference must be one of the compared run ids (3), got "4"'
    )
    store = tempStore()
    const a = createRun(store, config('a', ['press', 'fiction']))
    const b = createRun(store, config('b', ['press', 'learned']))
    store.close()
    const file = store.path
    store = undefined
    await expect(compareCommand.run({ values: { db: file }, positionals: [String(a), String(b)] })).rejects.toThrow(
      `runs ${a} and ${b} have different streams: stages.1.domain is "fiction" vs "learned"`
    )
    await expect(compareCommand.run({ values: { db: file }, positionals: [String(a), '77'] })).rejects.toThrow('no run with id 77')
  })
})
