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
      wall += secondsPerStep[stage]!
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

describe('a long run in the comparison', () => {
  it('reads per-step series as phase extents and compares exactly as from every point', () => {
    const store = tempStore()
    try {
      const elle = createRun(store, config('elle', stream, { grow: true }))
      simulateRun(store, elle, stream, { steps: STEPS, frw: FRW, secondsPerStep, flopsPerStep, params: [2e5, 4e5, 6e5] })
      store.insertMetrics(perStepPoints(elle))
      const naive = createRun(store, config('naive', stream))
      simulateRun(store, naive, stream, { steps: 100, secondsPerStep, flopsPerStep, params: [6e5, 6e5, 6e5] }) // short: read whole

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
})
