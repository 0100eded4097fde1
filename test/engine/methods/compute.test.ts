// Every method is charged the compute it really spends, so "compute saved" compares like with like:
// A-GEM's reference gradients, the distillation teacher's forward, EWC/MAS importance estimates and
// PNN's frozen columns and laterals all add FLOPs beyond the update's own forward and backward.
import { beforeAll, describe, expect, it } from 'vitest'
import { nonEmbeddingParams, trainingFlopsPerToken } from '../../../src/main/engine/model'
import type { RunData } from '../../../src/main/engine/training/data'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import { makeRunData, useBackend } from '../training/fixtures'
import { methodConfig, runMethod, type MethodInput } from './helpers'

let data: RunData
beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

/** FLOPs charged by each update of a 2-stage (12 + 12) GPT run: flops[i] is the increase at update i + 1. */
async function flopsPerUpdate(method: MethodInput): Promise<{ deltas: number[]; tokensPerUpdate: number; flopsPerToken: number; wallS: number[] }> {
  const config = methodConfig('gpt', method)
  const run = await runMethod(data, config)
  const flops = run.recorder.steps.map((s) => s.flops)
  const deltas = flops.map((f, i) => f - (i === 0 ? 0 : flops[i - 1]!))
  const tokensPerUpdate = config.training.batchSize * config.training.seqLen * config.training.accumulation
  const result = { deltas, tokensPerUpdate, flopsPerToken: trainingFlopsPerToken(run.loop.model.config, config.training.seqLen), wallS: run.recorder.steps.map((s) => s.wallS) }
  run.close()
  return result
}

describe('compute accounting', () => {
  let naive: Awaited<ReturnType<typeof flopsPerUpdate>>
  beforeAll(async () => {
    naive = await flopsPerUpdate({ name: 'naive' })
  })

  it('naive pays tokens × analytic FLOPs per token on every update', () => {
    for (const d of naive.deltas) expect(d).toBeCloseTo(naive.tokensPerUpdate * naive.flopsPerToken, 0)
  })

  it('A-GEM pays one more forward and backward per reference batch once there is a memory', async () => {
    const agem = await flopsPerUpdate({ name: 'agem', refBatches: 2 })
    const batchTokens = naive.tokensPerUpdate // a memory batch has the training batch's shape (accumulation 1)
    expect(agem.deltas.slice(0, 12)).toEqual(naive.deltas.slice(0, 12))
    for (const [i, d] of agem.deltas.slice(12).entries()) expect(d, `update ${13 + i}`).toBeCloseTo(naive.deltas[12 + i]! + 2 * batchTokens * naive.flopsPerToken, 0)
  })

  it("logit distillation pays the teacher's forward, a third of its training FLOPs", async () => {
    const kd = await flopsPerUpdate({ name: 'logit-kd' })
    expect(kd.deltas.slice(0, 12)).toEqual(naive.deltas.slice(0, 12))
    for (const d of kd.deltas.slice(12)) expect(d).toBeCloseTo((naive.tokensPerUpdate * naive.flopsPerToken * 4) / 3, 0)
  })

  for (const name of ['ewc', 'mas'] as const) {
    it(`${name} pays its importance estimate (FLOPs and wall time) once, when a domain ends`, async () => {
      const run = await flopsPerUpdate({ name, samples: 3 })
      const estimate = 3 * naive.tokensPerUpdate * naive.flopsPerToken
      expect(run.deltas[12]).toBeCloseTo(naive.deltas[12]! + estimate, 0)
      const others = run.deltas.filter((_, i) => i !== 12)
      expect(others).toEqual(naive.deltas.filter((_, i) => i !== 12))
      expect(run.wallS[12]! - run.wallS[11]!).toBeGreaterThan(0)
    })
  }

  it('PNN pays its frozen columns forward and its laterals, not one column', async () => {
    const run = await flopsPerUpdate({ name: 'pnn' })
    expect(run.deltas.slice(0, 12)).toEqual(naive.deltas.slice(0, 12))
    // second stage: column 1 trains (naive's cost), column 0 runs forward without a head
    // (2 FLOPs per weight, 4·L·T·d attention), and 2 laterals (L + 1) of d×d train (6 FLOPs per weight).
    const config = methodConfig('gpt', { name: 'pnn' })
    const cfg = modelConfigFor(config, data.tokenizer.vocabSize)
    const T = config.training.seqLen
    const d = cfg.hidden
    const frozenForward = 2 * nonEmbeddingParams(cfg) + 4 * cfg.layers * T * d
    const laterals = (cfg.layers + 1) * 6 * d * d
    for (const delta of run.deltas.slice(12)) expect(delta).toBeCloseTo(naive.deltas[12]! + naive.tokensPerUpdate * (frozenForward + laterals), 0)
  })
})
