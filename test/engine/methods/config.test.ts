// The `method` section of the run config: every refusal names its field, and nothing is stored.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Engine } from '../../../src/main/engine/engine'
import { ConfigError, finalModelShape, methodOf, parseRunConfig, type RunConfigInput } from '../../../src/main/engine/training/config'
import { PRESETS } from '../../../src/main/engine/training/presets'
import { tempDir } from '../../helpers/tmp'

const base = (extra: Record<string, unknown> = {}): RunConfigInput =>
  ({
    name: 'method-config',
    model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8 },
    stages: [
      { domain: 'press', steps: 5 },
      { domain: 'hobbies', steps: 5 }
    ],
    ...extra
  }) as RunConfigInput

const refusal = (raw: unknown): string => {
  try {
    parseRunConfig(raw)
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  throw new Error('the config was accepted')
}

describe('method config', () => {
  it('an unknown method lists the known ones', () => {
    expect(refusal(base({ method: { name: 'sgd' } }))).toBe(
      'config: method.name: unknown method "sgd"; known methods: naive, er, ewc, mas, agem, logit-kd, pnn, joint, scratch, rewarm, elle'
    )
    expect(refusal(base({ method: {} }))).toMatch(/^config: method\.name: a method name is required; known methods: naive, /)
  })

  it('options out of range name the field', () => {
    expect(refusal(base({ method: { name: 'ewc', lambda: -1 } }))).toBe('config: method.lambda: must be >= 0')
    expect(refusal(base({ method: { name: 'mas', lambda: -0.5 } }))).toBe('config: method.lambda: must be >= 0')
    expect(refusal(base({ method: { name: 'ewc', gamma: 1.5 } }))).toBe('config: method.gamma: must be <= 1')
    expect(refusal(base({ method: { name: 'logit-kd', temperature: 0 } }))).toBe('config: method.temperature: must be > 0')
    expect(refusal(base({ method: { name: 'logit-kd', alpha: 2 } }))).toBe('config: method.alpha: must be <= 1')
    expect(refusal(base({ method: { name: 'agem', refBatches: 0 } }))).toBe('config: method.refBatches: must be >= 1')
    expect(refusal(base({ method: { name: 'rewarm', peakLr: -1 }, replay: { ratio: 0.1 } }))).toBe('config: method.peakLr: must be > 0')
    expect(refusal(base({ method: { name: 'er' }, replay: { ratio: 1.5 } }))).toMatch(/^config: replay\.ratio: /)
    expect(refusal(base({ method: { name: 'ewc', lamda: 3 } }))).toMatch(/^config: method: Unrecognized key: "lamda"/)
  })

  it('a method must agree with the rest of the config', () => {
    expect(refusal(base({ method: { name: 'naive' }, replay: { ratio: 0.1 } }))).toBe('config: replay.ratio: must be 0: method "naive" has no memory (use "er" to replay)')
    expect(refusal(base({ method: { name: 'er' } }))).toBe('config: replay.ratio: method "er" replays memory: set a ratio above 0')
    expect(
      refusal(
        base({
          method: { name: 'pnn' },
          stages: [
            { domain: 'press', steps: 5 },
            { domain: 'hobbies', steps: 5, replay: { ratio: 0.2 } }
          ]
        })
      )
    ).toMatch(/^config: stages\.1\.replay\.ratio: must be 0: method "pnn"/)
    expect(
      refusal(
        base({
          method: { name: 'ewc' },
          stages: [
            { domain: 'press', steps: 5 },
            { domain: 'hobbies', steps: 5, grow: { layers: 1 } }
          ]
        })
      )
    ).toMatch(/^config: stages\.1\.grow: method "ewc" trains at a fixed size/)
    expect(
      refusal(
        base({
          method: { name: 'joint' },
          stages: [
            { domain: 'press', steps: 5 },
            { domain: 'hobbies', steps: 5, frwSteps: 2 }
          ]
        })
      )
    ).toMatch(/^config: stages\.1\.frwSteps: the function-recovering warm-up belongs to "elle"/)
  })

  it('fills defaults, infers the method of configs without one, and computes the final size', () => {
    const ewc = parseRunConfig(base({ method: { name: 'ewc' } }))
    expect(ewc.method).toEqual({ name: 'ewc', lambda: 10_000, gamma: 1, samples: 16, fisher: 'sequence' })
    expect(parseRunConfig(base({ method: { name: 'logit-kd' } })).method).toEqual({ name: 'logit-kd', alpha: 0.5, temperature: 2, decaySteps: 0 })
    expect(methodOf(parseRunConfig(base()))).toEqual({ name: 'naive' })
    expect(methodOf(parseRunConfig(base({ replay: { ratio: 0.1 } })))).toEqual({ name: 'er' })
    const grows = parseRunConfig(
      base({
        stages: [
          { domain: 'press', steps: 5 },
          { domain: 'hobbies', steps: 5, grow: { layers: 1, heads: 1 } },
          { domain: 'learned', steps: 5, grow: { heads: 1 } }
        ]
      })
    )
    expect(methodOf(grows)).toEqual({ name: 'elle' })
    expect(finalModelShape(grows)).toMatchObject({ layers: 2, heads: 4, ffn: 4 * 4 * 8 })
  })

  it('every preset parses, and the baselines keep the ELLE demo stream and step budget', () => {
    for (const p of PRESETS) parseRunConfig(p.config, p.name)
    const elle = parseRunConfig(PRESETS.find((p) => p.name === 'elle-gpt-demo')!.config)
    const total = (c: typeof elle): number => c.stages.reduce((n, s) => n + s.steps + s.frwSteps, 0)
    for (const name of ['naive', 'er', 'ewc', 'mas', 'agem', 'logit-kd', 'pnn', 'joint', 'scratch', 'rewarm']) {
      const c = parseRunConfig(PRESETS.find((p) => p.name === `${name}-gpt-demo`)!.config)
      expect(c.method?.name).toBe(name)
      expect(c.stages.map((s) => s.domain)).toEqual(elle.stages.map((s) => s.domain))
      expect(total(c)).toBe(total(elle))
    }
  })
})

describe('bad method configs through the engine', () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await Engine.open({ dbPath: path.join(tempDir(), 'runs.sqlite'), dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
  })
  afterAll(async () => engine.close())

  it('are refused before anything is stored', () => {
    const bad = [
      base({ method: { name: 'sgd' } }),
      base({ method: { name: 'ewc', lambda: -1 } }),
      base({ method: { name: 'er' }, replay: { ratio: 2 } }),
      base({ method: { name: 'logit-kd', temperature: -2 } })
    ]
    for (const config of bad) expect(() => engine.startRun(config)).toThrow(ConfigError)
    expect(engine.store.listExperiments()).toEqual([])
    expect(engine.store.listRuns()).toEqual([])
  })
})
