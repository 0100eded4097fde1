// elle series: the curves query from the command line (a table, or the result as JSON), and its usage errors.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { SeriesResult } from '../../src/shared/series'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { config, simulateRun } from '../engine/compare/fixtures'
import { tempDir } from '../helpers/tmp'
import { elleInProcess } from './in-process'

const elle = elleInProcess

const db = path.join(tempDir(), 'series.sqlite')
let id = 0
beforeAll(() => {
  const store = ExperimentStore.open(db)
  const stream = ['press', 'fiction']
  id = store.createRun(store.ensureExperiment('elle', config('elle', stream, { grow: true })).id, { backend: 'wasm' }).id
  simulateRun(store, id, stream, { secondsPerStep: [0.1, 0.2], flopsPerStep: [1e9, 2e9], params: [1e5, 2e5], frw: 10 })
  store.close()
})
afterAll(() => vi.restoreAllMocks())

describe('elle series', () => {
  it('prints each line with its points and the markers, or the result as JSON', async () => {
    const table = await elle('series', String(id), '--metric', 'ap_geo,loss', '--x', 'tokens', '--db', db)
    expect(table.code, table.err).toBe(0)
    expect(table.out).toContain('geometric AP (perplexity) against tokens seen')
    expect(table.out).toContain('training loss against tokens seen')
    expect(table.out).toMatch(new RegExp(`#${id} elle\\s+9\\s+9`))
    expect(table.out).toContain('markers: press@0, grow@1.024e+5 (3 layers · 3 heads · d 96 · 200.0k params), fiction@1.126e+5')
    const json = await elle('series', String(id), '--smooth', 'ema', '--param', '0.5', '--from', '0', '--to', '50', '--json', '--db', db)
    const result = SeriesResult.parse(JSON.parse(json.out))
    expect(result.range).toEqual([0, 50])
    expect(result.charts[0]!.lines[0]!.raw).toBeDefined()
  })

  it('refuses bad input with the problem named', async () => {
    expect(await elle('series', String(id), '--x', 'hours', '--db', db)).toMatchObject({ code: 2, err: expect.stringContaining('--x must be one of step, tokens, wall, flops') })
    expect((await elle('series', String(id), '--from', '9', '--to', '1', '--db', db)).err).toContain('range: the start (9) must be below the end (1)')
    expect((await elle('series', '424242', '--db', db)).err).toContain('no run with id 424242')
  })
})
