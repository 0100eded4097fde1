import { afterEach, describe, expect, it } from 'vitest'
import { RunComparison, type ComparedRun, type CurvePoint } from '../../../src/shared/contract'
import { CompareError, compareRuns, compareRunsInSlices, configFacts, firstReach, methodDifferences, streamDifference } from '../../../src/main/engine/compare'
import { StoreError, type ExperimentStore } from '../../../src/main/engine/store/store'
import { config, createRun, simulateRun, tempStore, train, writeRows } from './fixtures'

const STREAM = ['press', 'fiction']
let store: ExperimentStore
afterEach(() => store?.close())

const pt = (step: number, value: number, wallS: number, flops: number): CurvePoint => ({ step, value, wallS, flops })

/** Two runs on [press, fiction]: a baseline ending at AP 100 after 40 s / 4000 FLOPs, and an ELLE run. */
function handMade(elleFinal: number) {
  store = tempStore()
  const other = createRun(store, config('naive-run', STREAM))
  writeRows(store, other, STREAM, [
    { step: 10, wallS: 10, flops: 1000, phase: train(0, 'press'), ppl: [300] },
    { step: 20, wallS: 20, flops: 2000, phase: train(0, 'press'), ppl: [90] },
    { step: 30, wallS: 30, flops: 3000, phase: train(1, 'fiction'), ppl: [110, 200], apPlus: 20 },
    { step: 40, wallS: 40, flops: 4000, phase: train(1, 'fiction'), ppl: [100, 100], apPlus: 10 }
  ])
  const elle = createRun(store, config('elle-run', STREAM, { grow: true }))
  writeRows(store, elle, STREAM, [
    // AP over one domain is already below 100 here: not comparable with an AP over two, so ignored
    { step: 10, wallS: 2, flops: 200, phase: train(0, 'press'), ppl: [60] },
    { step: 20, wallS: 5, flops: 500, phase: train(0, 'press'), ppl: [50] },
    { step: 30, wallS: 10, flops: 1000, phase: train(1, 'fiction'), ppl: [80, 200] }, // AP 140
    { step: 40, wallS: 30, flops: 3000, phase: train(1, 'fiction'), ppl: [elleFinal - 20, elleFinal + 20] } // AP elleFinal
  ])
  return { other, elle }
}

describe('firstReach (interpolation along an AP curve)', () => {
  it('interpolates wall time, FLOPs and step linearly between the last point above and the first at or below', () => {
    const r = firstReach([pt(10, 200, 10, 100), pt(20, 150, 20, 300), pt(30, 50, 40, 700)], 100)
    expect(r.reached).toBe(true)
    // 150 -> 50 crosses 100 halfway
    expect(r.wallS).toBeCloseTo(30, 10)
    expect(r.flops).toBeCloseTo(500, 10)
    expect(r.step).toBeCloseTo(25, 10)
  })

  it('takes the first crossing, the point itself when the curve starts below, and reports the best when never reached', () => {
    expect(firstReach([pt(1, 120, 1, 1), pt(2, 80, 3, 3), pt(3, 130, 5, 5), pt(4, 60, 9, 9)], 100).wallS).toBeCloseTo(2, 10)
    expect(firstReach([pt(5, 90, 7, 70), pt(6, 50, 8, 80)], 100)).toMatchObject({ reached: true, wallS: 7, flops: 70 })
    expect(firstReach([pt(1, 100, 4, 40)], 100)).toMatchObject({ reached: true, wallS: 4 }) // equal counts as reached
    expect(firstReach([pt(1, 300, 1, 1), pt(2, 140, 2, 2)], 100)).toEqual({ reached: false, wallS: null, flops: null, step: null, best: 140 })
    expect(firstReach([], 100)).toMatchObject({ reached: false, best: null })
  })
})

describe('compute saved', () => {
  it("ELLE reaching the other run's final AP at half its wall time and FLOPs saves 50%", () => {
    const { other, elle } = handMade(60)
    const c = RunComparison.parse(compareRuns(store, [elle, other]))
    expect(c.computeSaved).toHaveLength(1)
    const s = c.computeSaved[0]!
    expect(s).toMatchObject({ elleRunId: elle, otherRunId: other, target: 100, domains: 2, reached: true, otherWallS: 40, otherFlops: 4000 })
    // AP 140 at 10 s -> 60 at 30 s crosses 100 halfway: 20 s, 2000 FLOPs
    expect(s.wallS).toBeCloseTo(20, 10)
    expect(s.flops).toBeCloseTo(2000, 10)
    expect(s.wallFraction).toBeCloseTo(0.5, 10)
    expect(s.flopsFraction).toBeCloseTo(0.5, 10)
    expect(s.sentence).toContain('#1 naive')
    expect(s.sentence).toContain('50% of its training wall time')
    expect(s.sentence).toContain('saves 50% of the wall time')
  })

  it('says "did not reach" when ELLE\'s AP over the same domains never gets to the target', () => {
    const { other, elle } = handMade(120)
    const s = compareRuns(store, [other, elle]).computeSaved[0]!
    expect(s).toMatchObject({ reached: false, wallS: null, flops: null, wallFraction: null, flopsFraction: null, target: 100 })
    expect(s.sentence).toMatch(/did not reach the final AP of #1 naive \(100\.0 over 2 domains\): its best over 2 domains was 120\.0/)
  })

  it('compares every ELLE run against every other run, including another ELLE run', () => {
    const { other, elle } = handMade(60)
    const second = createRun(store, config('elle-run-2', STREAM, { method: 'elle' }))
    writeRows(store, second, STREAM, [{ step: 40, wallS: 50, flops: 5000, phase: train(1, 'fiction'), ppl: [70, 70] }])
    const pairs = compareRuns(store, [other, elle, second]).computeSaved.map((s) => [s.elleRunId, s.otherRunId])
    expect(pairs).toEqual([
      [elle, other],
      [elle, second],
      [second, other],
      [second, elle]
    ])
  })
})

describe('compareRuns', () => {
  it('in slices: gives the event loop a turn between runs (a request asked meanwhile is answered first) and equals the one-go comparison', async () => {
    const { other, elle } = handMade(60)
    const order: string[] = []
    const sliced = compareRunsInSlices(store, [elle, other], 0).then((c) => (order.push('comparison'), c))
    // what the serving thread would answer between two runs
    setImmediate(() => order.push('other request'))
    const c = await sliced
    expect(order).toEqual(['other request', 'comparison'])
    expect(c).toEqual(compareRuns(store, [elle, other]))
    // bad input is refused as in one go, before any slice
    await expect(compareRunsInSlices(store, [elle, elle], 0)).rejects.toThrow(/listed twice/)
  })

  it('returns curves, the perplexity matrix in stream order, cost per phase and downstream mean ± std', () => {
    store = tempStore()
    const stream = ['press', 'humanities', 'fiction']
    const elle = createRun(store, config('elle-gpt', stream, { grow: true }))
    simulateRun(store, elle, stream, { secondsPerStep: [0.1, 0.2, 0.3], flopsPerStep: [1e9, 2e9, 3e9], params: [1e5, 2e5, 3e5], frw: 10, floor: 100 })
    const er = createRun(store, config('er-gpt', stream, { replay: 0.1 }))
    simulateRun(store, er, stream, { secondsPerStep: [0.4, 0.4, 0.4], flopsPerStep: [4e9, 4e9, 4e9], params: [3e5, 3e5, 3e5], floor: 130 })
    store.addEvaluations([0, 1, 2].map((seed) => ({ runId: elle, task: 'spam', domain: 'fiction', metric: 'macro_f1', value: [0.7, 0.8, 0.9][seed]!, seed })))
    store.addEvaluations([{ runId: er, task: 'spam', domain: 'fiction', metric: 'macro_f1', value: 0.65, seed: 0 }])
    // the same task fine-tuned with other settings is another result, never averaged into the first
    store.addEvaluations([0, 1].map((seed) => ({ runId: er, task: 'spam', domain: 'fiction', metric: 'macro_f1', value: 0.2, seed, settings: { steps: 60, lr: 0.001 } })))

    const c = RunComparison.parse(compareRuns(store, [elle, er]))
    expect(c.stream).toEqual(stream)
    const [a, b] = c.runs
    expect(a).toMatchObject({ id: elle, method: 'elle', methodSource: 'inferred', elle: true, experimentName: 'elle-gpt', status: 'finished' })
    expect(b).toMatchObject({ id: er, method: 'er', elle: false })
    expect(a!.matrix).toHaveLength(14) // 4 validations per stage, 1 after each warm-up
    expect(a!.matrix[0]!.ppl).toEqual([500, null, null]) // 900 - (900 - 100) x sqrt(1/4)
    expect(a!.matrix.filter((r) => r.stageEnd).map((r) => [r.kind, r.stage, r.domain])).toEqual([
      ['train', 0, 'press'],
      ['train', 1, 'humanities'],
      ['train', 2, 'fiction']
    ])
    expect(a!.final.domainsSeen).toBe(3)
    expect(a!.final.ap).toBeCloseTo(a!.matrix.at(-1)!.ppl.reduce((s, v) => s! + v!, 0)! / 3, 9)
    expect(a!.ap).toHaveLength(14)
    expect(a!.apPlus).toHaveLength(8)
    // phases: train-0, frw-1, train-1, frw-2, train-2 with their parameter counts and costs
    expect(a!.phases.map((p) => [p.kind, p.stage, p.domain, p.params])).toEqual([
      ['train', 0, 'press', 1e5],
      ['frw', 1, 'press', 2e5],
      ['train', 1, 'humanities', 2e5],
      ['frw', 2, 'humanities', 3e5],
      ['train', 2, 'fiction', 3e5]
    ])
    expect(a!.phases.map((p) => p.wallS)).toEqual([10, 2, 20, 3, 30].map((v) => expect.closeTo(v, 9)))
    expect(a!.phases[4]!.flops).toBeCloseTo(100 * 3e9, 0)
    expect(a!.totals).toMatchObject({ params: 3e5, steps: 320 })
    expect(a!.totals.wallS).toBeCloseTo(65, 9)
    expect(a!.downstream).toEqual([
      {
        task: 'spam',
        domain: 'fiction',
        metric: 'macro_f1',
        checkpointId: null,
        checkpointStep: null,
        finetuneSteps: null,
        mean: expect.closeTo(0.8, 12),
        std: expect.closeTo(0.1, 12),
        seeds: 3
      }
    ])
    expect(b!.downstream).toEqual([
      expect.objectContaining({ mean: 0.65, std: null, seeds: 1, finetuneSteps: null }),
      expect.objectContaining({ mean: 0.2, std: 0, seeds: 2, finetuneSteps: 60 })
    ])
    // ELLE ends lower (floor 100 vs 130) on cheaper steps: it reaches ER's final AP, using less than ER's total
    const saved = c.computeSaved[0]!
    expect(saved.reached).toBe(true)
    expect(saved.wallFraction!).toBeGreaterThan(0)
    expect(saved.wallFraction!).toBeLessThan(65 / 120)
  })

  it('runs without metrics compare with empty curves and no target', () => {
    store = tempStore()
    const a = createRun(store, config('elle', STREAM, { grow: true }), 'running')
    const b = createRun(store, config('naive', STREAM))
    const c = RunComparison.parse(compareRuns(store, [a, b]))
    expect(c.runs[0]).toMatchObject({ matrix: [], ap: [], final: { ap: null, domainsSeen: 0 }, totals: { wallS: 0, flops: 0, params: null } })
    expect(c.computeSaved[0]).toMatchObject({ reached: false, target: null })
    expect(c.computeSaved[0]!.sentence).toContain('has no AP yet')
  })

  it('refuses runs of different streams naming the field, unknown ids, duplicates and empty lists; nothing stored changes', () => {
    store = tempStore()
    const a = createRun(store, config('a', ['press', 'humanities', 'fiction']))
    const b = createRun(store, config('b', ['press', 'humanities', 'learned'], { grow: true }))
    const c = createRun(store, config('c', ['press', 'humanities']))
    const none = createRun(store, { name: 'quick', model: { kind: 'gpt' }, steps: 10 })
    writeRows(store, a, ['press'], [{ step: 1, wallS: 1, flops: 1, phase: train(0, 'press'), ppl: [5] }])
    const snapshot = () => ({
      runs: store.listRuns(),
      metrics: store.db.prepare('SELECT COUNT(*) FROM metrics').pluck().get(),
      experiments: store.listExperiments(),
      changes: store.db.prepare('SELECT total_changes()').pluck().get()
    })
    const before = snapshot()
    const refusal = (ids: number[]) => {
      try {
        compareRuns(store, ids)
      } catch (e) {
        return e as Error
      }
      throw new Error('expected a refusal')
    }
    expect(refusal([a, b]).message).toBe(`runs ${a} and ${b} have different streams: stages.2.domain is "fiction" vs "learned"`)
    expect(refusal([a, b])).toBeInstanceOf(CompareError)
    expect(refusal([a, c]).message).toBe(`runs ${a} and ${c} have different streams: stages.2.domain is "fiction" vs absent (2 stages)`)
    expect(refusal([a, 999]).message).toBe('no run with id 999')
    expect(refusal([a, 999])).toBeInstanceOf(StoreError)
    expect(refusal([a, a]).message).toBe(`run ${a} is listed twice`)
    expect(refusal([]).message).toMatch(/at least one run/)
    expect(refusal([none]).message).toMatch(new RegExp(`run ${none} has no stream`))
    expect(snapshot()).toEqual(before)
    // one run alone is a valid comparison (no compute saved without an ELLE run and another)
    expect(compareRuns(store, [a])).toMatchObject({ stream: ['press', 'humanities', 'fiction'], computeSaved: [] })
  })

  it("takes a run's stream from the stream it recorded (runs.stream_id); a run from before streams from its config's stages", () => {
    store = tempStore()
    for (const name of ['press', 'humanities']) store.createDomain({ name, files: [] })
    const stream = store.createStream({ name: 'two', domains: ['press', 'humanities'] })
    // a config without stages: only the recorded stream says what the run followed
    const recorded = store.createRun(store.ensureExperiment('recorded', { name: 'recorded', model: { kind: 'gpt' } }).id, { backend: 'wasm', streamId: stream.id }).id
    const before = createRun(store, config('before', ['press', 'humanities']))
    expect(store.getRun(before).streamId).toBeNull()
    expect(compareRuns(store, [recorded, before])).toMatchObject({ stream: ['press', 'humanities'], runs: [{ id: recorded }, { id: before }] })
    const other = createRun(store, config('other', ['press', 'fiction']))
    expect(() => compareRuns(store, [recorded, other])).toThrow(`runs ${recorded} and ${other} have different streams: stages.1.domain is "humanities" vs "fiction"`)
  })
})

describe('config facts', () => {
  it('takes method.name when present, else infers elle from growth, er from replay, naive otherwise', () => {
    expect(configFacts(config('x', STREAM, { grow: true }))).toMatchObject({ method: 'elle', methodSource: 'inferred', elle: true, stream: STREAM })
    expect(configFacts(config('x', STREAM, { method: 'elle' }))).toMatchObject({ method: 'elle', methodSource: 'config', elle: true })
    expect(configFacts(config('x', STREAM, { method: 'ewc', grow: true }))).toMatchObject({ method: 'ewc', elle: false })
    expect(configFacts(config('x', STREAM, { replay: 0.2 }))).toMatchObject({ method: 'er', elle: false })
    expect(configFacts(config('x', STREAM))).toMatchObject({ method: 'naive', elle: false })
    expect(configFacts({ steps: 3 })).toMatchObject({ stream: null })
    expect(streamDifference(['a'], ['a'])).toBeNull()
    expect(streamDifference(['a', 'b'], ['a'])).toBe('stages.1.domain is "b" vs absent (1 stages)')
  })
})

describe('differences between methods, paired by seed', () => {
  const run = (id: number, method: string, seed: number, apGeo: number, ci: number | null = null): ComparedRun =>
    ({
      id,
      method,
      seed,
      final: { ap: apGeo + 1, apPlus: null, apGeo, domainsSeen: 2, ci: { ap: null, apPlus: null, apGeo: ci === null ? null : { lo: apGeo - ci, hi: apGeo + ci } } }
    }) as unknown as ComparedRun

  it('pairs runs of a seed, marks a difference only when its interval excludes zero, and says "within noise" otherwise', () => {
    const clear = methodDifferences([run(1, 'elle', 0, 10), run(2, 'elle', 1, 11), run(3, 'elle', 2, 9.5), run(4, 'er', 0, 12), run(5, 'er', 1, 13.1), run(6, 'er', 2, 11.4)])
    const geo = clear.find((d) => d.metric === 'apGeo')!
    expect(geo.pairs).toEqual([
      { seed: 0, a: 1, b: 4 },
      { seed: 1, a: 2, b: 5 },
      { seed: 2, a: 3, b: 6 }
    ])
    expect(geo.significant).toBe(true)
    expect(geo.verdict).toMatch(/^elle vs er: lower by/)
    const mixed = methodDifferences([run(1, 'elle', 0, 10), run(2, 'elle', 1, 11), run(3, 'elle', 2, 9.5), run(4, 'er', 0, 12), run(5, 'er', 1, 10), run(6, 'er', 2, 9.4)])
    expect(mixed.find((d) => d.metric === 'apGeo')!.verdict).toMatch(/^elle vs er: within noise/)
    // seeds that only one method ran are left out; AP+ without values gives no difference
    const partial = methodDifferences([run(1, 'elle', 0, 10, 0.1), run(2, 'elle', 5, 11), run(4, 'er', 0, 12, 0.1)])
    expect(partial.map((d) => d.metric)).toEqual(['apGeo', 'ap'])
    expect(partial[0]!.pairs).toEqual([{ seed: 0, a: 1, b: 4 }])
    expect(partial[0]!.basis).toBe('one-seed-intervals')
    expect(partial[0]!.significant).toBe(true)
  })
})
