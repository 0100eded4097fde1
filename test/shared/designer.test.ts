// The designer's shared logic: shapes after growth, parameters and FLOPs (equal to the engine's own counts),
// wall-time estimates and their sources, validation at field paths, the ELLE reference's flags, and the diff.
import { describe, expect, it } from 'vitest'
import { DEFAULT_VOCAB_SIZE } from '../../src/main/engine/data/tokenizer'
import { makeModelConfig, parameterCount as engineParams, trainingFlopsPerToken as engineFlops } from '../../src/main/engine/model/config'
import { estimateRun } from '../../src/main/engine/resources/estimate'
import { PRESETS } from '../../src/main/engine/training/presets'
import {
  DESIGNER_VOCAB_SIZE,
  diffConfigs,
  elleReferenceFlags,
  estimateWall,
  formatPath,
  methodOptions,
  optionUnit,
  planStages,
  scratchConfig,
  validateDesign,
  type ThroughputSample
} from '../../src/shared/designer'
import { RunConfig, type RunConfigInput } from '../../src/shared/run-config'

const twoGrowth = (over: Partial<RunConfigInput> = {}): RunConfigInput => ({
  name: 'designer',
  model: { kind: 'gpt', layers: 2, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 4 },
  method: { name: 'elle' },
  replay: { ratio: 0.1 },
  stages: [
    { domain: 'press', steps: 10 },
    { domain: 'hobbies', steps: 10, grow: { layers: 2, heads: 2 }, frwSteps: 3 },
    { domain: 'learned', steps: 10, grow: { layers: 1, heads: 1 }, frwSteps: 3 }
  ],
  ...over
})
const paths = (input: unknown, facts = {}): Array<[string, string]> => validateDesign(input, facts).issues.map((i) => [i.path, i.message])

describe('designer: shapes, parameters and FLOPs', () => {
  it('plans every stage at its grown shape, counting as the engine does', () => {
    expect(DESIGNER_VOCAB_SIZE).toBe(DEFAULT_VOCAB_SIZE)
    const config = RunConfig.parse(twoGrowth())
    const plans = planStages(config)
    expect(plans.map((p) => [p.shape.layers, p.shape.heads, p.shape.hidden, p.shape.ffn])).toEqual([
      [2, 2, 32, 128],
      [4, 4, 64, 256],
      [5, 5, 80, 320]
    ])
    expect(plans.map((p) => p.added)).toEqual([
      { layers: 0, heads: 0, ffn: 0 },
      { layers: 2, heads: 2, ffn: 128 },
      { layers: 1, heads: 1, ffn: 64 }
    ])
    expect(plans.map((p) => p.grown)).toEqual([false, true, true])
    // every preset, every stage: the same parameters as the engine's resource estimate and the same FLOPs as its loop
    for (const preset of PRESETS) {
      const parsed = RunConfig.parse(preset.config)
      const engine = estimateRun(parsed)
      planStages(parsed).forEach((plan, i) => {
        const e = engine.stages[i]!
        expect([plan.shape.layers, plan.shape.heads, plan.shape.ffn], `${preset.name} stage ${i}`).toEqual([e.layers, e.heads, e.ffn])
        const model = makeModelConfig(parsed.model.kind, { ...plan.shape, vocabSize: DEFAULT_VOCAB_SIZE, maxLength: parsed.training.seqLen })
        expect(plan.params).toBe(engineParams(model))
        if (parsed.method?.name !== 'pnn') expect(plan.params).toBe(e.params)
        expect(plan.flopsPerToken).toBe(engineFlops(model, parsed.training.seqLen))
      })
    }
    // tokens: (steps + warm-up) x batch x accumulation x seqLen
    expect(plans[1]!.tokens).toBe(13 * 4 * 1 * 32)
    expect(plans[1]!.flops).toBe(plans[1]!.tokens * plans[1]!.flopsPerToken)
  })

  it('joint and scratch train the final size from the first stage', () => {
    const config = RunConfig.parse({
      ...twoGrowth(),
      method: { name: 'scratch' },
      replay: { ratio: 0 },
      stages: twoGrowth().stages.map(({ domain, steps }) => ({ domain, steps }))
    })
    expect(planStages(config).map((p) => p.shape.layers)).toEqual([2, 2, 2])
  })
})

describe('designer: wall time', () => {
  const plan = planStages(RunConfig.parse(twoGrowth()))[1]!
  const sample = (over: Partial<ThroughputSample>): ThroughputSample => ({
    runId: 1,
    stage: 0,
    backend: 'wasm',
    kind: 'gpt',
    layers: 4,
    hidden: 64,
    ffn: 256,
    seqLen: 32,
    batchSize: 4,
    tokensPerS: 1000,
    flopsPerS: 1e9,
    ...over
  })
  it('uses the measured tokens/s of the same shape, else scales by FLOP/s, else says it guesses', () => {
    const measured = estimateWall(plan, 4, [sample({ tokensPerS: 1000 }), sample({ tokensPerS: 3000 }), sample({ tokensPerS: 2000 })])
    expect(measured.source).toBe('measured')
    expect(measured.seconds).toBeCloseTo(plan.tokens / 2000) // the median
    const scaled = estimateWall(plan, 4, [sample({ layers: 2, hidden: 32, ffn: 128, flopsPerS: 4e9 })])
    expect(scaled.source).toBe('scaled')
    expect(scaled.seconds).toBeCloseTo(plan.flops / 4e9)
    expect(scaled.note).toContain('not measured')
    const guess = estimateWall(plan, 4, [])
    expect(guess.source).toBe('guess')
    expect(guess.note).toContain('nothing was measured')
  })
})

describe('designer: validation at field paths', () => {
  it('formats paths as the designer shows them', () => {
    expect(formatPath(['stages', 2, 'grow', 'heads'])).toBe('stages[2].grow.heads')
    expect(formatPath([])).toBe('')
  })

  it('accepts a valid schedule', () => {
    const check = validateDesign(twoGrowth(), { streamDomains: ['press', 'hobbies', 'learned'] })
    expect(check.issues).toEqual([])
    expect(check.config?.stages).toHaveLength(3)
  })

  it('names shrinking growth, split heads, limits, a domain not in the stream and memory beyond the machine', () => {
    const shrink = twoGrowth()
    shrink.stages[2] = { domain: 'learned', steps: 10, grow: { layers: 1, heads: -1 } }
    expect(paths(shrink)).toEqual([['stages[2].grow.heads', '-1 would shrink the model: growth only adds heads (0 keeps the size)']])

    const split = twoGrowth()
    split.stages[1] = { domain: 'hobbies', steps: 10, grow: { layers: 0, heads: 1, hidden: 40 } }
    const splitIssues = paths(split)
    expect(splitIssues[0]).toEqual(['stages[1].grow.hidden', 'hidden 40 is not divisible by the head size 16: width grows by whole heads'])
    expect(splitIssues.some(([p, m]) => p === 'stages[1].grow.hidden' && m.includes('does not match 3 heads'))).toBe(true)

    const huge = twoGrowth()
    huge.stages[2] = { domain: 'learned', steps: 10, grow: { layers: 100, heads: 1 } }
    expect(paths(huge)).toEqual([['stages[2].grow.layers', 'grows to 104 layers, beyond the limit of 96']])

    expect(paths(twoGrowth(), { streamDomains: ['press', 'hobbies'], streamName: 'mine' })).toEqual([['stages[2].domain', '"learned" is not in stream "mine" (press, hobbies)']])

    // stages follow the stream: its order, one per domain
    expect(paths(twoGrowth(), { streamDomains: ['press', 'learned', 'hobbies'] })).toEqual([
      ['stages[1].domain', 'the stream has "learned" at position 2; stages follow its order'],
      ['stages[2].domain', 'the stream has "hobbies" at position 3; stages follow its order']
    ])
    expect(paths(twoGrowth(), { streamDomains: ['press', 'hobbies', 'learned', 'fiction'] })).toEqual([
      ['stages', 'the stream has 4 domains; the schedule has 3 stages (one per domain)']
    ])

    const memory = { stageBytes: [1e8, 2e8, 9e9], budgetBytes: 1e9, budgetText: 'this machine has 1.2 GB available' }
    expect(paths(twoGrowth(), { memory })).toEqual([
      ['stages[2].grow', 'stage 3 (learned) needs about 9.0 GB: more memory than this machine has for a run (this machine has 1.2 GB available)']
    ])
  })

  it('reports unknown fields and wrong types at their paths', () => {
    const bad = JSON.parse(JSON.stringify(twoGrowth())) as { stages: Array<Record<string, unknown>>; training: Record<string, unknown> }
    bad.stages[1]!.grow = { layers: 1, heads: 'two' }
    bad.training.speed = 3
    const issues = paths(bad)
    expect(issues.map((i) => i[0]).sort()).toEqual(['stages[1].grow.heads', 'training'])
    expect(issues.find((i) => i[0] === 'training')![1]).toContain('speed')
  })
})

describe('designer: the ELLE reference flags', () => {
  it('gives colon lists per transition, the arch name and what cannot be said', () => {
    const paper = PRESETS.find((p) => p.name === 'elle-bert-paper-shape')!
    const ref = elleReferenceFlags(RunConfig.parse(paper.config))!
    expect(ref.flags).toContain('--added_layer_num 2:2:1:1')
    expect(ref.flags).toContain('--added_head_num 2:2:1:1')
    expect(ref.flags).toContain('--arch roberta_6layer_96hidden_6head_384ffn')
    expect(ref.flags).toContain('--domains press:humanities:hobbies:learned:fiction')
    expect(ref.flags).toContain('--total-num-update 6250:2000:2000:2000:2000')
    expect(ref.flags).toContain('--recover-update 500')
    expect(ref.flags).toContain('--replay_ratio 0.1')
    expect(ref.notes.some((n) => n.includes('head size 16'))).toBe(true)
    expect(elleReferenceFlags(RunConfig.parse({ ...twoGrowth(), method: { name: 'naive' }, replay: { ratio: 0 }, stages: [{ domain: 'press', steps: 3 }] }))).toBeNull()
  })
})

describe('designer: diff and options', () => {
  it('lists only the fields that differ', () => {
    const a = RunConfig.parse(twoGrowth())
    const b = RunConfig.parse({ ...twoGrowth({ name: 'other' }), stages: [...twoGrowth().stages.slice(0, 2), { domain: 'learned', steps: 10, grow: { layers: 2, heads: 1 } }] })
    expect(diffConfigs(a, b)).toEqual([
      { path: 'name', left: 'designer', right: 'other' },
      { path: 'stages[2].grow.layers', left: 1, right: 2 },
      { path: 'stages[2].frwSteps', left: 3, right: 0 }
    ])
    expect(diffConfigs(a, a)).toEqual([])
    expect(diffConfigs({ x: [1] }, { x: [1, 2] })).toEqual([{ path: 'x[1]', left: undefined, right: 2 }])
  })

  it('reads method options with unit, range and explanation from the schema', () => {
    const ewc = methodOptions('ewc')
    expect(ewc.map((o) => o.key)).toEqual(['lambda', 'gamma', 'samples', 'fisher'])
    expect(ewc[3]).toMatchObject({ choices: ['sequence', 'batch'], defaultValue: 'sequence' })
    expect(optionUnit(ewc[3]!)).toBe('estimate, sequence | batch, default sequence')
    expect(optionUnit(ewc[1]!)).toBe('decay factor (0-1), 0..1, default 1')
    expect(ewc[1]).toMatchObject({ key: 'gamma', min: 0, max: 1, integer: false, defaultValue: 1, unit: 'decay factor (0-1)' })
    expect(ewc[2]!.integer).toBe(true)
    expect(ewc[0]!.description).toContain('quadratic penalty')
    expect(methodOptions('elle')).toEqual([])
  })

  it('starts from scratch with a valid two-growth ELLE schedule', () => {
    const check = validateDesign(scratchConfig(['press', 'hobbies', 'learned', 'fiction']), { streamDomains: ['press', 'hobbies', 'learned', 'fiction'] })
    expect(check.issues).toEqual([])
    expect(planStages(check.config!).map((p) => p.grown)).toEqual([false, true, true, false])
  })
})
