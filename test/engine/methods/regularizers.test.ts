// EWC and MAS: the penalty is 0 right after a domain ends and grows as the weights move away from θ*,
// and a large λ keeps the old domain's validation loss lower than λ = 0 over the same steps.
import { beforeAll, describe, expect, it } from 'vitest'
import { EwcPlugin } from '../../../src/main/engine/methods/ewc'
import { MasPlugin } from '../../../src/main/engine/methods/mas'
import type { RunData } from '../../../src/main/engine/training/data'
import { makeRunData, useBackend } from '../training/fixtures'
import { methodConfig, runMethod, type MethodInput } from './helpers'

let data: RunData
beforeAll(async () => {
  await useBackend('wasm')
  data = await makeRunData()
})

const stages = [
  { domain: 'alpha', steps: 30 },
  { domain: 'beta', steps: 30 }
]

async function alphaLossAfterBeta(method: MethodInput): Promise<{ alphaEnd1: number; alphaEnd2: number; penalties: number[] }> {
  // long enough, and fast enough, that plain sequential training forgets alpha clearly
  const config = methodConfig('gpt', method, {
    stages: [
      { domain: 'alpha', steps: 100 },
      { domain: 'beta', steps: 60 }
    ]
  })
  config.training.lr = 1e-2
  const run = await runMethod(data, config)
  const r = run.recorder
  const ends = r.validations.filter((v) => v.endOfStage)
  const alpha = (i: number): number => ends[i]!.domains.find((d) => d.domain === 'alpha')!.loss
  const out = { alphaEnd1: alpha(0), alphaEnd2: alpha(1), penalties: r.steps.filter((s) => s.stage.stage === 1).map((s) => s.penalty) }
  run.close()
  return out
}

describe('quadratic penalties', () => {
  for (const name of ['ewc', 'mas'] as const) {
    it(`${name}: the penalty starts at 0 after the domain and grows as the weights move`, async () => {
      // a small λ: the weights move freely, so the penalty keeps growing
      const run = await runMethod(data, methodConfig('gpt', { name, lambda: name === 'ewc' ? 1 : 1e-3 }, { stages }))
      const plugin = run.plugins.find((p) => p instanceof (name === 'ewc' ? EwcPlugin : MasPlugin)) as EwcPlugin | MasPlugin
      const steps = run.recorder.steps
      expect(steps.filter((s) => s.stage.stage === 0).every((s) => s.penalty === 0)).toBe(true)
      const second = steps.filter((s) => s.stage.stage === 1).map((s) => s.penalty)
      // the first update of the new stage is taken at θ = θ*
      expect(second[0]).toBe(0)
      expect(second[1]!).toBeGreaterThan(0)
      expect(second.at(-1)!).toBeGreaterThan(second[1]!)
      expect(plugin.estimates).toBe(1)
      run.close()
    })
  }

  it('a large lambda forgets the old domain less than lambda 0 (ewc and mas)', async () => {
    const free = await alphaLossAfterBeta({ name: 'ewc', lambda: 0 })
    const ewc = await alphaLossAfterBeta({ name: 'ewc', lambda: 1e5 })
    const mas = await alphaLossAfterBeta({ name: 'mas', lambda: 10 })
    // same first stage (the penalty only starts after it)
    expect(ewc.alphaEnd1).toBeCloseTo(free.alphaEnd1, 5)
    const rise = (r: typeof free): number => r.alphaEnd2 - r.alphaEnd1
    expect(rise(free)).toBeGreaterThan(1)
    expect(rise(ewc)).toBeLessThan(rise(free) * 0.5)
    expect(rise(mas)).toBeLessThan(rise(free) * 0.5)
    expect(free.penalties.every((p) => p === 0)).toBe(true)
  })
})

describe('EWC Fisher estimate', () => {
  /** The Fisher EWC keeps after alpha (the only estimate of a two-stage run), read through its saved state. */
  async function fisherAfterAlpha(fisher: 'sequence' | 'batch'): Promise<Map<string, Float32Array>> {
    const run = await runMethod(data, methodConfig('gpt', { name: 'ewc', lambda: 1, samples: 3, fisher }, { stages }))
    const plugin = run.plugins.find((p) => p instanceof EwcPlugin) as EwcPlugin
    const groups = new Map<string, Map<string, Float32Array>>()
    await plugin.saveState({
      put: (group, weights) => {
        groups.set(group, new Map(Object.entries(weights).map(([role, w]) => [role, Float32Array.from(w.data)])))
        return { group } as never
      }
    })
    run.close()
    return groups.get('importance')!
  }

  it('per sequence is the mean of squared sequence gradients: by Jensen never below the squared batch gradient, and larger in sum', async () => {
    const sequence = await fisherAfterAlpha('sequence')
    const batch = await fisherAfterAlpha('batch')
    expect([...sequence.keys()].sort()).toEqual([...batch.keys()].sort())
    let sumSequence = 0
    let sumBatch = 0
    let below = 0
    let total = 0
    for (const [role, s] of sequence) {
      const b = batch.get(role)!
      s.forEach((v, i) => {
        sumSequence += v
        sumBatch += b[i]!
        total++
        // GPT blocks are full, so the batch gradient is the plain mean of the sequence gradients: mean(g²) >= mean(g)²
        if (v < b[i]! * (1 - 1e-3) - 1e-12) below++
      })
    }
    expect(below / total).toBeLessThan(1e-3)
    expect(sumSequence).toBeGreaterThan(1.5 * sumBatch)
  })
})
