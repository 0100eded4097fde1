// Memory, replay, the function-recovering warm-up and prompt placement, with real data and a real loop.
import { beforeAll, describe, expect, it } from 'vitest'
import { ReplayPlugin } from '../../../src/main/engine/methods/replay'
import { TransformerModel } from '../../../src/main/engine/model'
import type { RunData } from '../../../src/main/engine/training/data'
import { planPhases } from '../../../src/main/engine/methods/registry'
import { TrainingLoop, type MicroBatch, type StagePlan, type TrainingContext, type TrainingPlugin } from '../../../src/main/engine/training/loop'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import type { RunConfig } from '../../../src/main/engine/training/config'
import { makeRunData, tinyConfig, useBackend } from './fixtures'

let data: RunData
beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

function loopFor(config: RunConfig, plugins: TrainingPlugin[]): TrainingLoop {
  const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
  return new TrainingLoop({ config, model, data, plugins })
}

const twoStages = (kind: 'gpt' | 'bert', extra: Partial<RunConfig> = {}): RunConfig =>
  tinyConfig(kind, {
    stages: [
      { domain: 'alpha', steps: 12 },
      { domain: 'beta', steps: 12, frwSteps: 6 }
    ],
    replay: { ratio: 0.5, weights: 'uniform' },
    memory: { fraction: 0.3 },
    ...extra
  } as Partial<RunConfig>)

/** Sees every micro-batch after the methods composed it. */
class Inspector implements TrainingPlugin {
  readonly name = 'inspector'
  seen: Array<{ phase: StagePlan; micro: MicroBatch }> = []
  composeUpdate(_ctx: TrainingContext, stage: StagePlan, micro: MicroBatch[]): MicroBatch[] {
    for (const m of micro) this.seen.push({ phase: stage, micro: m })
    return micro
  }
}

describe('phases', () => {
  it('puts a warm-up on the previous domain before each stage that asks for one', () => {
    const phases = planPhases(
      tinyConfig('gpt', {
        stages: [
          { domain: 'alpha', steps: 10 },
          { domain: 'beta', steps: 20, frwSteps: 5, grow: { layers: 1, heads: 1 } }
        ]
      })
    )
    expect(phases.map((p) => [p.kind, p.domain, p.steps, p.grow?.layers ?? 0])).toEqual([
      ['train', 'alpha', 10, 0],
      ['frw', 'alpha', 5, 1], // growth happens as the stage begins, i.e. before its warm-up
      ['train', 'beta', 20, 0]
    ])
  })
})

describe('domain prompts', () => {
  for (const kind of ['gpt', 'bert'] as const) {
    it(`${kind}: every training, replay, warm-up and validation sample carries its own domain's prompt at position ${kind === 'gpt' ? 0 : 1}`, async () => {
      const config = twoStages(kind)
      const inspector = new Inspector()
      const loop = loopFor(config, [new ReplayPlugin(5), inspector])
      await loop.run()
      const position = kind === 'gpt' ? 0 : 1
      const promptOf = (domain: string) => data.tokenizer.promptId(data.domains.get(domain)!.promptSlot)
      const kinds = new Set<string>()
      for (const { phase, micro } of inspector.seen) {
        const source = micro.domain !== phase.domain ? 'replay' : phase.kind
        kinds.add(source)
        for (let row = 0; row < micro.batch.batchSize; row++) {
          expect(micro.batch.input[row * micro.batch.seqLen + position], `${source} ${micro.domain}`).toBe(promptOf(micro.domain))
          if (kind === 'bert') expect(micro.batch.input[row * micro.batch.seqLen]).toBe(data.tokenizer.specialIds.cls)
        }
      }
      expect([...kinds].sort()).toEqual(['frw', 'replay', 'train'])
      for (const domain of ['alpha', 'beta']) {
        for (const input of loop.validationInputs(domain)) {
          for (let row = 0; row < input.shape[0]; row++) expect(input.inputIds[row * input.shape[1] + position]).toBe(promptOf(domain))
        }
      }
      loop.dispose()
      loop.model.dispose()
    })
  }

  it("gives every domain another domain's prompt in the wrong-prompt ablation", () => {
    const config = tinyConfig('gpt', {
      stages: [
        { domain: 'alpha', steps: 1 },
        { domain: 'beta', steps: 1 }
      ],
      training: { ...tinyConfig('gpt').training, prompts: 'wrong' }
    } as Partial<RunConfig>)
    const loop = loopFor(config, [])
    const slot = (d: string) => data.domains.get(d)!.promptSlot
    expect(loop.nextBatch('alpha').input[0]).toBe(data.tokenizer.promptId(slot('beta')))
    expect(loop.nextMemoryBatch('beta').input[0]).toBe(data.tokenizer.promptId(slot('alpha')))
    expect(loop.validationInputs('alpha')[0]!.inputIds[0]).toBe(data.tokenizer.promptId(slot('beta')))
    loop.dispose()
    loop.model.dispose()
  })

  it('leaves prompts out when the run turns them off', () => {
    const config = tinyConfig('gpt', { training: { ...tinyConfig('gpt').training, prompts: 'off' } })
    const loop = loopFor(config, [])
    const batch = loop.nextBatch('alpha')
    const prompts = new Set(Array.from({ length: data.tokenizer.promptSlots }, (_, s) => data.tokenizer.promptId(s)))
    expect(Array.from(batch.input).some((id) => prompts.has(id))).toBe(false)
    loop.dispose()
    loop.model.dispose()
  })
})

describe('memory and warm-up', () => {
  it("the warm-up trains only on the previous domain's memory", async () => {
    const config = twoStages('gpt', { replay: { ratio: 0, weights: 'uniform' } } as Partial<RunConfig>)
    const inspector = new Inspector()
    const loop = loopFor(config, [inspector])
    await loop.run()
    const memory = loop.memory('alpha')
    const batcher = loop.batcher('alpha')
    const memoryRows = new Set(memory.blocks.map((b) => Array.from(batcher.batchOf([b]).input).join(',')))
    const frw = inspector.seen.filter((s) => s.phase.kind === 'frw')
    expect(frw).toHaveLength(6)
    for (const { micro } of frw) {
      expect(micro.domain).toBe('alpha')
      for (let row = 0; row < micro.batch.batchSize; row++) {
        const ids = Array.from(micro.batch.input.slice(row * micro.batch.seqLen, (row + 1) * micro.batch.seqLen)).join(',')
        expect(memoryRows.has(ids)).toBe(true)
      }
    }
    expect(memory.blocks.length).toBe(Math.ceil(0.3 * batcher.numBlocks))
    loop.dispose()
    loop.model.dispose()
  })
})

describe('replay', () => {
  it('replays the configured share of micro-batches over many updates, only from earlier domains', () => {
    const config = tinyConfig('gpt', {
      stages: [
        { domain: 'alpha', steps: 1 },
        { domain: 'beta', steps: 1 }
      ],
      training: { ...tinyConfig('gpt').training, accumulation: 4 },
      replay: { ratio: 0.3, weights: 'uniform' }
    } as Partial<RunConfig>)
    const loop = loopFor(config, [])
    const replay = new ReplayPlugin(11)
    const beta = loop.stages.find((s) => s.domain === 'beta')!
    loop.state.stageIndex = beta.index
    let replayed = 0
    const updates = 2000
    for (let step = 0; step < updates; step++) {
      loop.state.globalStep = step
      const micro = Array.from({ length: 4 }, () => ({ domain: 'beta', batch: loop.nextBatch('beta') }))
      const out = replay.composeUpdate(loop, beta, micro)
      expect(out).toHaveLength(4)
      replayed += out.filter((m) => m.domain !== 'beta').length
      expect(out.every((m) => m.domain === 'beta' || m.domain === 'alpha')).toBe(true)
    }
    // 8000 micro-batches: the share is 0.3 within a few standard errors (sd ~ 0.005)
    expect(Math.abs(replayed / (updates * 4) - 0.3)).toBeLessThan(0.02)
    // nothing is replayed while the first domain trains
    const alpha = loop.stages[0]!
    loop.state.stageIndex = 0
    expect(replay.composeUpdate(loop, alpha, [{ domain: 'alpha', batch: loop.nextBatch('alpha') }])[0]!.domain).toBe('alpha')
    loop.dispose()
    loop.model.dispose()
  })

  it('adaptive weights favour the domain whose validation loss falls most per replayed token', () => {
    const config = tinyConfig('gpt', {
      stages: [
        { domain: 'alpha', steps: 1 },
        { domain: 'beta', steps: 1 },
        { domain: 'gamma', steps: 100 }
      ],
      replay: { ratio: 1, weights: 'adaptive' }
    } as Partial<RunConfig>)
    const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
    const withGamma: RunData = { ...data, domains: new Map([...data.domains, ['gamma', { ...data.domains.get('beta')!, name: 'gamma', promptSlot: 2 }]]) }
    const loop = new TrainingLoop({ config, model, data: withGamma, plugins: [] })
    const replay = new ReplayPlugin(3)
    const gamma = loop.stages.find((s) => s.domain === 'gamma')!
    loop.state.stageIndex = gamma.index
    const report = (alpha: number, beta: number) => ({
      stage: gamma,
      step: loop.state.globalStep,
      endOfStage: false,
      domains: [
        { domain: 'alpha', loss: alpha, ppl: Math.exp(alpha), tokens: 100 },
        { domain: 'beta', loss: beta, ppl: Math.exp(beta), tokens: 100 },
        { domain: 'gamma', loss: 3, ppl: Math.exp(3), tokens: 100 }
      ]
    })
    replay.afterValidation(loop, report(4, 4)) // first validation: reference losses
    const counts = { alpha: 0, beta: 0 }
    const drawMany = () => {
      for (let step = 0; step < 400; step++) {
        loop.state.globalStep = step
        const [m] = replay.composeUpdate(loop, gamma, [{ domain: 'gamma', batch: loop.nextBatch('gamma') }])
        counts[m!.domain as 'alpha' | 'beta'] += 1
      }
    }
    drawMany()
    replay.afterValidation(loop, report(3.0, 3.9)) // alpha fell by 1.0, beta by 0.1, on comparable replayed tokens
    expect(replay.weightOf('alpha')).toBeGreaterThan(5 * replay.weightOf('beta'))
    counts.alpha = 0
    counts.beta = 0
    drawMany()
    expect(counts.alpha).toBeGreaterThan(3 * counts.beta)
    loop.dispose()
    model.dispose()
  })
})

describe('adaptive replay restarts its history per training phase, as the reference does', () => {
  it('a new training phase starts from uniform weights and no loss history; a warm-up keeps the history of the phase before it', () => {
    const config = tinyConfig('gpt', {
      stages: [
        { domain: 'alpha', steps: 1 },
        { domain: 'beta', steps: 1 },
        { domain: 'gamma', steps: 100 },
        { domain: 'delta', steps: 100, frwSteps: 10 }
      ],
      replay: { ratio: 1, weights: 'adaptive' }
    } as Partial<RunConfig>)
    const model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: 1 })
    const copy = (name: string, slot: number) => [name, { ...data.domains.get('beta')!, name, promptSlot: slot }] as const
    const more: RunData = { ...data, domains: new Map([...data.domains, copy('gamma', 2), copy('delta', 3)]) }
    const loop = new TrainingLoop({ config, model, data: more, plugins: [] })
    const replay = new ReplayPlugin(3)
    const [gamma, frw, delta] = ['gamma', 'frw', 'delta'].map((k) => loop.stages.find((s) => s.domain === k || (k === 'frw' && s.kind === 'frw'))!)
    expect(frw!.domain).toBe('gamma')
    const report = (stage: StagePlan, losses: Record<string, number>) => ({
      stage,
      step: loop.state.globalStep,
      endOfStage: false,
      domains: Object.entries(losses).map(([domain, loss]) => ({ domain, loss, ppl: Math.exp(loss), tokens: 100 }))
    })
    const replayTokens = (stage: StagePlan, n: number) => {
      for (let step = 0; step < n; step++) {
        loop.state.globalStep = step
        replay.composeUpdate(loop, stage, [{ domain: stage.domain, batch: loop.nextBatch('beta') }])
      }
    }
    loop.state.stageIndex = gamma!.index
    replay.beforeStage?.(loop, gamma!, false)
    replay.afterValidation(loop, report(gamma!, { alpha: 4, beta: 4, gamma: 3 }))
    replayTokens(gamma!, 200)
    replay.afterValidation(loop, report(gamma!, { alpha: 3, beta: 3.9, gamma: 3 }))
    expect(replay.weightOf('alpha')).toBeGreaterThan(5 * replay.weightOf('beta'))

    // the warm-up replays alpha and beta (it recovers on gamma's memory) and keeps the history
    loop.state.stageIndex = frw!.index
    replay.beforeStage?.(loop, frw!, false)
    expect(replay.weightOf('alpha')).toBeGreaterThan(5 * replay.weightOf('beta'))
    replayTokens(frw!, 200)
    replay.afterValidation(loop, report(frw!, { alpha: 2.5, beta: 3.8, gamma: 3 })) // a decrease against the last phase's losses
    // weights from loss decreases per token (a reset history would give 1 to every domain)
    for (const d of ['alpha', 'beta']) expect(replay.weightOf(d)).toBeLessThan(0.01)

    // the next training phase starts again: uniform weights, and its first validation only records losses
    loop.state.stageIndex = delta!.index
    replay.beforeStage?.(loop, delta!, false)
    for (const d of ['alpha', 'beta', 'gamma']) expect(replay.weightOf(d)).toBe(1)
    replayTokens(delta!, 200)
    replay.afterValidation(loop, report(delta!, { alpha: 1, beta: 3.8, gamma: 2.9, delta: 3 }))
    for (const d of ['alpha', 'beta', 'gamma']) expect(replay.weightOf(d)).toBe(1)
    // a resumed training phase keeps what it had
    replayTokens(delta!, 200)
    replay.afterValidation(loop, report(delta!, { alpha: 0.5, beta: 3.7, gamma: 2.8, delta: 3 }))
    const kept = replay.weightOf('alpha')
    expect(kept).toBeGreaterThan(2 * replay.weightOf('beta'))
    replay.beforeStage?.(loop, delta!, true)
    expect(replay.weightOf('alpha')).toBe(kept)
    loop.dispose()
    model.dispose()
  })
})
