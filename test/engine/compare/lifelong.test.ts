// The comparison's lifelong additions on a real store: per-cell matrix intervals, AP intervals per validation,
// the stored forgetting matrix (BWT/FWT), the compute-saved interval; runs.exportCsv and runs.report through
// the API handler; and `elle compare --csv --latex --report` as the CLI runs it.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { RunComparison } from '../../../src/shared/contract'
import { CSV_COLUMNS, parseCsv } from '../../../src/shared/export/csv'
import { createApiHandler, type ApiHandler } from '../../../src/main/engine/api/handler'
import { exportCsv } from '../../../src/main/engine/compare'
import type { Engine } from '../../../src/main/engine/engine'
import { main } from '../../../src/main/cli/index'
import { rejection } from '../../helpers/api'
import { tempEngine } from '../../helpers/engine'
import { tempDir } from '../../helpers/tmp'
import { config, simulateRun } from './fixtures'
import { writeIntervals } from './intervals'

const stream = ['press', 'fiction', 'learned']
let engine: Engine
let handle: ApiHandler
let elle = 0
let naive = 0

beforeAll(async () => {
  engine = await tempEngine()
  handle = createApiHandler(engine, 'browser')
  elle = engine.createRun('elle_run', config('elle "grow", fast', stream, { grow: true })).id
  simulateRun(engine.store, elle, stream, { secondsPerStep: [0.1, 0.2, 0.3], flopsPerStep: [1e9, 2e9, 3e9], params: [1e5, 2e5, 3e5], floor: 90 })
  naive = engine.createRun('naive', config('naive', stream)).id
  simulateRun(engine.store, naive, stream, { secondsPerStep: [0.3, 0.3, 0.3], flopsPerStep: [3e9, 3e9, 3e9], params: [3e5, 3e5, 3e5], floor: 120 })
  writeIntervals(engine.store, elle, 0.05)
  writeIntervals(engine.store, naive, 0.05)
  // a finished forgetting-matrix job of the ELLE run, as the job host stores it
  const R = [
    [0.8, 0.5, null],
    [0.7, 0.9, 0.55],
    [0.6, 0.85, 0.95]
  ]
  const matrix = { R, std: R.map((r) => r.map(() => 0.01)), baseline: [0.4, 0.45, 0.5], bwt: -0.125, fwt: 0.05 }
  const job = engine.store.createJob('forgetting', { runId: elle }, 'here:1:x')
  engine.store.startJob(job.id, 'here:1:x')
  engine.store.endJob(job.id, {
    status: 'finished',
    result: {
      runId: elle,
      prompt: 'own',
      seeds: [0, 1, 2],
      settings: { steps: 10, batchSize: 8, lr: 1e-4 },
      stages: stream.map((domain, index) => ({ index, domain, task: `${domain}_cls`, seen: stream.slice(0, index + 1), checkpointId: null, checkpointPath: null, step: null })),
      accuracy: matrix,
      macroF1: matrix,
      cells: []
    }
  })
})
afterAll(() => engine?.close())

describe('the comparison’s lifelong facts', () => {
  it('carries cell intervals, AP intervals, the stored transfer and the compute-saved interval', async () => {
    const c = RunComparison.parse(await handle('runs.compare', { ids: [elle, naive] }))
    const [e, n] = c.runs
    const end = e!.matrix.filter((r) => r.stageEnd).at(-1)!
    expect(end.ci).toHaveLength(3)
    expect(end.tokens).toBe(end.step * 1024)
    end.ppl.forEach((v, j) => {
      expect(end.ci![j]!.lo).toBeCloseTo(v! * 0.95, 6)
      expect(end.ci![j]!.hi).toBeCloseTo(v! * 1.05, 6)
    })
    // before the second domain is seen its cell has no interval
    expect(e!.matrix[0]!.ci?.[1] ?? null).toBeNull()
    const last = e!.intervals!.at(-1)!
    expect(last.step).toBe(e!.ap.at(-1)!.step)
    expect(last.ap!.lo).toBeCloseTo(e!.ap.at(-1)!.value * 0.95, 6)
    expect(last.apGeo!.hi).toBeCloseTo(e!.apGeo.at(-1)!.value * 1.05, 6)
    expect(e!.transfer).toMatchObject({ bwt: -0.125, fwt: 0.05, seeds: 3, domains: stream, tasks: ['press_cls', 'fiction_cls', 'learned_cls'] })
    expect(n!.transfer).toBeNull()

    const saved = c.computeSaved.find((s) => s.otherRunId === naive)!
    expect(saved.reached).toBe(true)
    const ci = saved.ci!.flopsFraction!
    expect(ci.lo).toBeLessThan(saved.flopsFraction!)
    expect(ci.hi).not.toBeNull()
    expect(ci.hi!).toBeGreaterThan(saved.flopsFraction!)
    expect(saved.ci!.wallFraction!.lo).toBeLessThan(saved.wallFraction!)
    expect(saved.sentence).toMatch(/95% interval of the FLOPs share \d+(\.\d)?% to \d+(\.\d)?%\.$/)
  })
})

describe('runs.exportCsv and runs.report', () => {
  it('writes every point of the chosen series in long format, and refuses past the cap', async () => {
    const all = (await handle('runs.exportCsv', { ids: [elle, naive] })) as { csv: string; rows: number }
    const stored = engine.store.readMetrics(elle).length + engine.store.readMetrics(naive).length
    expect(all.rows).toBe(stored)
    const parsed = parseCsv(all.csv)
    expect(parsed[0]).toEqual([...CSV_COLUMNS])
    expect(parsed).toHaveLength(stored + 1)
    const some = (await handle('runs.exportCsv', { ids: [elle], metrics: ['ap', 'ppl/*'] })) as { csv: string; rows: number }
    const rows = parseCsv(some.csv).slice(1)
    expect(rows.length).toBe(some.rows)
    expect(new Set(rows.map((r) => r[2]))).toEqual(new Set(['ap', ...stream.map((d) => `ppl/${d}`)]))
    expect(rows[0]!.slice(0, 2)).toEqual([String(elle), `#${elle} elle`])
    expect(() => exportCsv(engine.store, [elle], undefined, 10)).toThrow(/rows, over the cap of 10: choose fewer runs or metrics/)
    expect((await rejection(handle('runs.exportCsv', { ids: [elle, elle] }))).message).toMatch(/^runs\.exportCsv: a run is listed twice/)
    expect(await rejection(handle('runs.exportCsv', { ids: [424242] }))).toMatchObject({ code: 'not_found' })
  })

  it('renders the report of the comparison', async () => {
    const { html } = (await handle('runs.report', { ids: [elle, naive] })) as { html: string }
    expect(html).toMatch(/^<!doctype html>/i)
    expect(html).toContain(`#${elle}`)
    expect(html).toContain(`#${naive}`)
    expect((await rejection(handle('runs.report', { ids: [] }))).code).toBe('bad_request')
  })
})

describe('elle compare --csv --latex --report', () => {
  it('writes the three files from one command', async () => {
    const dir = tempDir()
    const out = { csv: path.join(dir, 'series.csv'), tex: path.join(dir, 'tables.tex'), html: path.join(dir, 'r.html') }
    const lines: string[] = []
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')))
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      const code = await main([
        'compare',
        String(elle),
        String(naive),
        '--db',
        engine.store.path,
        '--csv',
        out.csv,
        '--metrics',
        'ap_geo',
        '--latex',
        out.tex,
        '--report',
        out.html
      ])
      expect(code, err.mock.calls.join('\n')).toBe(0)
      expect(await main(['compare', String(elle), '--db', engine.store.path, '--metrics', 'ap'])).toBe(2)
    } finally {
      log.mockRestore()
      err.mockRestore()
    }
    expect(lines.join('\n')).toContain(`#${elle} elle: BWT -0.125, FWT +0.050 (job `)
    const csv = parseCsv(fs.readFileSync(out.csv, 'utf8'))
    expect(csv.slice(1).every((r) => r[2] === 'ap_geo')).toBe(true)
    expect(csv.length - 1).toBe(
      engine.store.readMetrics(elle).filter((p) => p.name === 'ap_geo').length + engine.store.readMetrics(naive).filter((p) => p.name === 'ap_geo').length
    )
    const tex = fs.readFileSync(out.tex, 'utf8')
    expect(tex).toContain('\\toprule')
    expect(tex).toContain('\\#' + elle + ' & elle (ELLE) & elle\\_run')
    expect(fs.readFileSync(out.html, 'utf8')).toContain(`#${elle}`)
  })
})
