// A comparison as chart inputs: domain and growth markers at the cumulative wall time / FLOPs where each phase starts.
import { describe, expect, it } from 'vitest'
import { phaseMarkers } from '../../../src/shared/charts/compare'
import { runColor } from '../../../src/shared/charts/palette'
import type { ComparedRun } from '../../../src/shared/contract'

const phase = (kind: string, stage: number, domain: string, params: number, wallS: number) => ({ kind, stage, domain, params, startStep: 0, endStep: 0, wallS, flops: wallS * 1e9 })
const run = {
  id: 3,
  phases: [phase('train', 0, 'press', 2e5, 10), phase('frw', 1, 'press', 4e5, 2), phase('train', 1, 'fiction', 4e5, 20), phase('train', 2, 'law', 4e5, 5)]
} as unknown as ComparedRun

describe('phaseMarkers', () => {
  it('marks where the model grew (old → new size) and where each later domain starts, in cumulative x', () => {
    expect(phaseMarkers(run, 'wallS')).toEqual([
      { x: 10, kind: 'growth', label: '#3 grew', detail: '200.0k → 400.0k params', key: 'run:3', color: runColor(3) },
      { x: 12, kind: 'domain', label: 'fiction', key: 'run:3' },
      { x: 32, kind: 'domain', label: 'law', key: 'run:3' }
    ])
    expect(phaseMarkers(run, 'flops', '#123456').map((m) => [m.x, m.color])).toEqual([
      [10e9, runColor(3)],
      [12e9, '#123456'],
      [32e9, '#123456']
    ])
  })
})
