// runs.exportCsv's cap: the rows are counted from the metric blocks (and the index where no block is stored)
// before any point is read, so a too-large export fails fast with the count and without reading the series.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { countSeries, exportCsv } from '../../../src/main/engine/compare'
import type { ExperimentStore, MetricPoint } from '../../../src/main/engine/store/store'
import { BLOCK_STEPS } from '../../../src/main/engine/store/series'
import { parseCsv } from '../../../src/shared/export/csv'
import { config, createRun, tempStore } from './fixtures'

let store: ExperimentStore | undefined
afterEach(() => {
  store?.close()
  store = undefined
  vi.restoreAllMocks()
})

const point = (runId: number, name: string, step: number): MetricPoint => ({
  runId,
  phase: { kind: 'train', stage: 0, domain: 'press' },
  step,
  tokensSeen: step * 64,
  wallS: step / 100,
  flops: step * 1e6,
  name,
  value: 1 / (step + 1)
})

/** a run with `loss` at every step 0..steps-1 (blocks sealed behind the last) and `ap` at 5 steps */
function run(steps: number): number {
  store = tempStore()
  const id = createRun(store, config('cap', ['press']))
  store.insertMetrics(Array.from({ length: steps }, (_, s) => point(id, 'loss', s)))
  store.insertMetrics([0, 1000, 2000, 3000, 4000].map((s) => point(id, 'ap', s)))
  return id
}

describe('runs.exportCsv: the cap is checked from the counts, before reading points', () => {
  it('counts a series from its stored blocks and the index over the steps no block covers', () => {
    const id = run(2 * BLOCK_STEPS + 1234)
    const blocks = store!.db.prepare("SELECT block, n FROM metric_blocks WHERE run_id = ? AND name = 'loss' ORDER BY block").all(id)
    expect(blocks).toEqual([
      { block: 0, n: BLOCK_STEPS },
      { block: 1, n: BLOCK_STEPS }
    ])
    expect(countSeries(store!, id, 'loss')).toBe(2 * BLOCK_STEPS + 1234)
    // a block not stored (a gap at the start) is counted from the index
    store!.db.prepare("DELETE FROM metric_blocks WHERE run_id = ? AND name = 'loss' AND block = 0").run(id)
    expect(countSeries(store!, id, 'loss')).toBe(2 * BLOCK_STEPS + 1234)
    // the blocks' n is what is summed: a stored block's count is taken as it is
    store!.db.prepare("UPDATE metric_blocks SET n = n - 7 WHERE run_id = ? AND name = 'loss' AND block = 1").run(id)
    expect(countSeries(store!, id, 'loss')).toBe(2 * BLOCK_STEPS + 1234 - 7)
    expect(countSeries(store!, id, 'ap')).toBe(5)
    expect(countSeries(store!, id, 'nothing')).toBe(0)
  })

  it('refuses an export over the cap with the count, without reading any point; at the cap it writes every row', () => {
    const steps = 2 * BLOCK_STEPS + 1234
    const id = run(steps)
    const total = steps + 5
    const read = vi.spyOn(store!, 'readMetrics')
    expect(() => exportCsv(store!, [id], undefined, total - 1)).toThrow(
      `the export would have ${total.toLocaleString('en-US')} rows, over the cap of ${(total - 1).toLocaleString('en-US')}: choose fewer runs or metrics`
    )
    expect(read).not.toHaveBeenCalled()
    // only the chosen series are counted
    expect(exportCsv(store!, [id], ['ap'], 5).rows).toBe(5)
    const out = exportCsv(store!, [id], undefined, total)
    expect(out.rows).toBe(total)
    const rows = parseCsv(out.csv)
    expect(rows).toHaveLength(total + 1)
    // series in name order, each in step order
    expect(rows[1]!.slice(2, 3)).toEqual(['ap'])
    expect(rows.at(-1)!.slice(2, 3)).toEqual(['loss'])
    expect(Number(rows.at(-1)![6])).toBe(steps - 1)
    // one series read at a time
    expect(read.mock.calls.every(([, o]) => typeof o?.name === 'string')).toBe(true)
  })
})
