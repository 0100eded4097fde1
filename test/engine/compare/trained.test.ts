// runs.compare on runs the trainer really wrote (the other compare tests hand-write the phase format):
// a tiny two-stage ELLE run (growth and a warm-up before the second domain) and its naive baseline, trained
// in worker threads on the default stream through the real API handler and store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RunComparison, RunSummary, type ComparedRun } from '../../../src/shared/contract'
import { createApiHandler, type ApiHandler } from '../../../src/main/engine/api/handler'
import type { Engine } from '../../../src/main/engine/engine'
import type { RunConfigInput } from '../../../src/main/engine/training/config'
import { baselineConfig } from '../../../src/main/engine/training/presets'
import { tempEngine } from '../../helpers/engine'

let engine: Engine
let handle: ApiHandler
beforeAll(async () => {
  engine = await tempEngine()
  handle = createApiHandler(engine, 'browser')
})
afterAll(() => engine?.close())

// press: 6 updates, validated at 3 and 6; humanities: grow, 2 warm-up updates on press's memory (validated
// at 8), then 6 updates validated at 11 and 14. The naive baseline trains 6 + 8 updates at the first size.
const elle: RunConfigInput = {
  name: 'compare-trained-elle',
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 4, lr: 3e-3, validateEvery: 3, validationSequences: 8, checkpointEvery: 1000, seed: 0 },
  growth: { mode: 'elle', noise: 0.01, optimizer: 'reset' },
  replay: { ratio: 0.25, weights: 'uniform' },
  memory: { fraction: 0.05 },
  method: { name: 'elle' },
  stages: [
    { domain: 'press', steps: 6 },
    { domain: 'humanities', steps: 6, frwSteps: 2, grow: { layers: 1, heads: 1 } }
  ]
}
const naive = baselineConfig(elle, { name: 'naive' }, false)

async function train(config: RunConfigInput): Promise<number> {
  const run = RunSummary.parse(await handle('runs.start', { config, fresh: true }))
  const done = await engine.host.waitFor(run.id)
  expect(done.status, done.error ?? '').toBe('finished')
  return run.id
}

/** AP+ recomputed from the run's own perplexity matrix: the rise of each earlier domain over its stage-end value. */
function apPlusFromMatrix(run: ComparedRun, stream: readonly string[]): Array<{ step: number; value: number }> {
  const stageEnd = new Map<number, number>() // domain index -> PPL at the end of its own training phase
  const out: Array<{ step: number; value: number }> = []
  for (const row of run.matrix) {
    const domain = row.domain!
    const current = stream.indexOf(domain)
    const rises = [...stageEnd].filter(([j]) => j !== current).map(([j, end]) => row.ppl[j]! - end)
    if (rises.length > 0) out.push({ step: row.step, value: rises.reduce((a, b) => a + b, 0) / rises.length })
    if (row.stageEnd) stageEnd.set(current, row.ppl[current]!)
  }
  return out
}

describe('runs.compare on trained runs', () => {
  it('reads stage ends, AP+ and phases from what a real two-stage run wrote', async () => {
    const elleId = await train(elle)
    const naiveId = await train(naive)
    const c = RunComparison.parse(await handle('runs.compare', { ids: [elleId, naiveId] }))
    expect(c.stream).toEqual(['press', 'humanities'])
    const [e, n] = c.runs as [ComparedRun, ComparedRun]
    expect([e.method, e.elle, n.method, n.elle]).toEqual(['elle', true, 'naive', false])

    // phases: kind, stage and domain as the metrics plugin stored them; the warm-up is stage 1's first phase,
    // on the previous domain, and already has the grown model's parameter count
    const shape = (r: ComparedRun) => r.phases.map((p) => [p.kind, p.stage, p.domain, p.startStep, p.endStep])
    expect(shape(e)).toEqual([
      ['train', 0, 'press', 0, 6],
      ['frw', 1, 'press', 6, 8],
      ['train', 1, 'humanities', 8, 14]
    ])
    expect(shape(n)).toEqual([
      ['train', 0, 'press', 0, 6],
      ['train', 1, 'humanities', 6, 14]
    ])
    const [p0, pWarm, p1] = e.phases.map((p) => p.params!)
    expect(pWarm).toBeGreaterThan(p0!)
    expect(p1).toBe(pWarm)
    expect(n.phases.map((p) => p.params)).toEqual([p0, p0])
    for (const r of [e, n]) {
      // phases split the run's cost without gaps or overlaps
      expect(r.phases.every((p) => p.wallS > 0 && p.flops > 0)).toBe(true)
      expect(r.phases.reduce((s, p) => s + p.flops, 0)).toBeCloseTo(r.totals.flops, -3)
      expect(r.totals.steps).toBe(14)
    }
    // the grown model costs more FLOPs per update
    expect(e.phases[2]!.flops / 6).toBeGreaterThan(e.phases[0]!.flops / 6)

    // stage ends: the last validation of each training phase, never the warm-up's
    const rows = (r: ComparedRun) => r.matrix.map((m) => [m.step, `${m.kind}-${m.stage}:${m.domain}`, m.stageEnd, m.ppl.map((v) => v !== null)])
    expect(rows(e)).toEqual([
      [3, 'train-0:press', false, [true, false]],
      [6, 'train-0:press', true, [true, false]],
      [8, 'frw-1:press', false, [true, false]],
      [11, 'train-1:humanities', false, [true, true]],
      [14, 'train-1:humanities', true, [true, true]]
    ])
    expect(rows(n).map((r) => [r[0], r[2]])).toEqual([
      [3, false],
      [6, true],
      [9, false],
      [12, false],
      [14, true]
    ])

    // AP+: what the trainer recorded equals the rise of press over its perplexity at the end of its stage
    // (step 6, not the warm-up's step 8), only once a later domain trains
    for (const r of [e, n]) {
      const expected = apPlusFromMatrix(r, c.stream)
      expect(r.apPlus.map((p) => p.step)).toEqual(expected.map((p) => p.step))
      r.apPlus.forEach((p, i) => expect(p.value).toBeCloseTo(expected[i]!.value, 6))
      expect(r.final.apPlus).toBe(r.apPlus.at(-1)!.value)
      expect(r.final.domainsSeen).toBe(2)
      const last = r.matrix.at(-1)!.ppl as number[]
      expect(r.final.ap).toBeCloseTo((last[0]! + last[1]!) / 2, 6)
    }
    expect(e.apPlus.map((p) => p.step)).toEqual([11, 14])

    // every final value carries its 95% bootstrap interval over validation documents, and the run says what it evaluated
    for (const r of [e, n]) {
      for (const [v, ci] of [
        [r.final.apGeo, r.final.ci.apGeo],
        [r.final.ap, r.final.ci.ap],
        [r.final.apPlus, r.final.ci.apPlus]
      ] as const) {
        expect(ci!.lo).toBeLessThanOrEqual(ci!.hi)
        expect(ci!.hi - ci!.lo).toBeLessThan(Math.abs(v!) + 100)
      }
      expect(r.final.ci.apGeo!.lo).toBeLessThanOrEqual(r.final.apGeo! * 1.0001)
      expect(r.final.ci.apGeo!.hi).toBeGreaterThanOrEqual(r.final.apGeo! * 0.9999)
      expect(r.seed).toBe(0)
      for (const d of r.evaluation.domains) {
        expect(d.tokens).toBe(8 * 31) // 8 sequences of 32 tokens: every target but the one only the prompt layout has
        expect(d.docs).toBeGreaterThan(0)
        expect(d.ci!.lo).toBeLessThanOrEqual(d.ppl! * 1.0001)
      }
      expect(r.evaluation.evalShare).toBeGreaterThan(0)
      expect(r.evaluation.evalShare).toBeLessThan(1)
    }
    // one seed per method: each difference rests on the two runs' own intervals
    expect(c.headline.metric).toBe('apGeo')
    expect(c.differences.map((d) => [d.metric, d.a, d.b, d.basis, d.pairs.length])).toEqual([
      ['apGeo', 'elle', 'naive', 'one-seed-intervals', 1],
      ['ap', 'elle', 'naive', 'one-seed-intervals', 1],
      ['apPlus', 'elle', 'naive', 'one-seed-intervals', 1]
    ])
    for (const d of c.differences) expect(d.verdict).toMatch(d.significant ? /^elle vs naive: (lower|higher) by/ : /^elle vs naive: within noise/)
    expect(n.apPlus.map((p) => p.step)).toEqual([9, 12, 14])

    expect(c.computeSaved).toEqual([expect.objectContaining({ elleRunId: elleId, otherRunId: naiveId, target: n.final.ap, domains: 2, otherFlops: n.totals.flops })])
  })
})
