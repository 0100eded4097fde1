// A long run in the comparison: its per-step series (loss, lr) are read as each phase's first and last point,
// and the comparison equals the one computed from every point (issue 15's scale: 100 runs × 100,000 steps).
import { describe, expect, it } from 'vitest'
import { compareRuns } from '../../../src/main/engine/compare/compare'
import type { ExperimentStore, MetricPoint } from '../../../src/main/engine/store/store'
import type { PhaseRef } from '../../../src/shared/metrics'
import { config, createRun, simulateRun, tempStore, train } from './fixtures'

const stream = ['press', 'fiction', 'learned']
const STEPS = 12_000
const FRW = 500
const secondsPerStep = [0.05, 0.1, 0.15]
const flopsPerStep = [1e10, 2e10, 3e10]

/** loss and lr at every update, on simulateRun's schedule (a warm-up before stages 1 and 2) */
function perStepPoints(runId: number): MetricPoint[] {
  const points: MetricPoint[] = []
  let step = 0
  let wall = 0
  let flops = 0
  const phaseSteps = (phase: PhaseRef, n: number, stage: number): void => {
    for (let i = 0; i < n; i++) {
      step++
      wall += secondsPerStep[stage]! * (phase.kind === 'frw' ? 3 : 1) // a warm-up step at another rate than training
      flops += flopsPerStep[stage]!
      for (const name of ['loss', 'lr']) points.push({ runId, phase, step, tokensSeen: step * 1024, wallS: wall, flops, name, value: name === 'loss' ? 5 / Math.sqrt(step) : 1e-3 })
    }
  }
  stream.forEach((domain, stage) => {
    if (stage > 0) phaseSteps({ kind: 'frw', stage, domain: stream[stage - 1]! }, FRW, stage)
    phaseSteps(train(stage, domain), STEPS, stage)
  })
  return points
}

/** the same store, reading every point of every series */
const everyPoint = (store: ExperimentStore): ExperimentStore =>
  new Proxy(store, { get: (target, key) => (key === 'readMetricsForComparison' ? (id: number) => target.readMetrics(id) : Reflect.get(target, key)) })

/** a long ELLE run with loss and lr at every update, and a short naive run (read whole) */
function storeWithTwoRuns(): { store: ExperimentStore; elle: number; naive: number } {
  const store = tempStore()
  const elle = createRun(store, config('elle', stream, { grow: true }))
  simulateRun(store, elle, stream, { steps: STEPS, frw: FRW, secondsPerStep, flopsPerStep, params: [2e5, 4e5, 6e5] })
  store.insertMetrics(perStepPoints(elle))
  const naive = createRun(store, config('naive', stream))
  simulateRun(store, naive, stream, { steps: 100, secondsPerStep, flopsPerStep, params: [6e5, 6e5, 6e5] })
  return { store, elle, naive }
}

describe('a long run in the comparison', () => {
  it('reads per-step series as phase extents and compares exactly as from every point', () => {
    const { store, elle, naive } = storeWithTwoRuns()
    try {
      const read = store.readMetricsForComparison(elle, new Set(['loss', 'lr']))
      const all = store.readMetrics(elle)
      expect(all.length).toBeGreaterThan(70_000)
      // 5 phases × first and last point × 2 series, instead of 73,000 points
      expect(read.filter((p) => p.name === 'loss' || p.name === 'lr')).toHaveLength(20)
      expect(read.filter((p) => p.name !== 'loss' && p.name !== 'lr')).toEqual(all.filter((p) => p.name !== 'loss' && p.name !== 'lr'))

      const fast = compareRuns(store, [elle, naive])
      const full = compareRuns(everyPoint(store), [elle, naive])
      expect(fast).toEqual(full)
      expect(fast.runs[0]!.phases.map((p) => [p.kind, p.startStep, p.endStep])).toEqual([
        ['train', 0, 12_000],
        ['frw', 12_000, 12_500],
        ['train', 12_500, 24_500],
        ['frw', 24_500, 25_000],
        ['train', 25_000, 37_000]
      ])
    } finally {
      store.close()
    }
  })

  it("gives the queue's throughput samples from phase extents, equal to a scan of every loss point", () => {
    const { store, elle, naive } = storeWithTwoRuns()
    try {
      // the reference: the GROUP BY over every train loss point that throughputSamples used before
      const scanned = store.db
        .prepare(
          `SELECT m.run_id AS runId, m.stage, MAX(m.tokens_seen) - MIN(m.tokens_seen) AS tokens, MAX(m.flops) - MIN(m.flops) AS flops, MAX(m.wall_s) - MIN(m.wall_s) AS wall
           FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.backend = 'wasm' AND m.kind = 'train' AND m.name = 'loss' AND m.stage IS NOT NULL
           GROUP BY m.run_id, m.stage HAVING wall > 0 AND tokens > 0 AND flops > 0 ORDER BY m.run_id DESC, m.stage`
        )
        .all() as Array<{ runId: number; stage: number; tokens: number; flops: number; wall: number }>
      const samples = store.throughputSamples('wasm')
      expect(scanned.length).toBe(6)
      expect(samples.map((s) => [s.runId, s.stage])).toEqual(scanned.map((r) => [r.runId, r.stage]))
      samples.forEach((s, i) => {
        expect(s.tokensPerS).toBeCloseTo(scanned[i]!.tokens / scanned[i]!.wall, 9)
        expect(s.flopsPerS / (scanned[i]!.flops / scanned[i]!.wall)).toBeCloseTo(1, 12)
      })
      expect(store.throughputSamples('wasm', 4)).toHaveLength(4)
      expect(store.throughputSamples('webgpu')).toEqual([])
    } finally {
      store.close()
    }
  })
})
