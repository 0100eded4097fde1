// Ready-made experiments on the built-in default stream (press -> humanities -> hobbies -> learned ->
// fiction -> email). Demo presets are sized to finish in about ten minutes on one CPU core (wasm);
// the paper-shape preset keeps the reference's growth ratios at a width a laptop can hold.
import type { MethodName, MethodSettingsInput, RunConfigInput } from './config'

export interface Preset {
  name: string
  description: string
  config: RunConfigInput
}

const STREAM = ['press', 'humanities', 'hobbies', 'learned', 'fiction', 'email'] as const

// Demo sizing (measured on one wasm thread): batch 8 x 64 tokens; the model grows from 2 layers and
// 2 heads of 32 (hidden 64) to 5 layers and 5 heads (hidden 160), so later stages cost ~4x the first.
const DEMO_GROWTH = [
  { layers: 1, heads: 1 },
  { layers: 0, heads: 1 },
  { layers: 1, heads: 0 },
  { layers: 0, heads: 1 },
  { layers: 1, heads: 0 }
]

function elleDemo(kind: 'gpt' | 'bert'): RunConfigInput {
  return {
    name: `elle-${kind}-demo`,
    model: { kind, layers: 2, heads: 2, headSize: 32 },
    training: { seqLen: 64, batchSize: 8, lr: 2e-3, validateEvery: 60, checkpointEvery: 200, seed: 0 },
    growth: { mode: 'elle', noise: 0.01, optimizer: 'reset', rampSteps: 40 },
    replay: { ratio: 0.1, weights: 'adaptive' },
    memory: { fraction: 0.1 },
    stages: STREAM.map((domain, i) => (i === 0 ? { domain, steps: 400 } : { domain, steps: 200, frwSteps: 40, grow: DEMO_GROWTH[i - 1] }))
  }
}

/** What each baseline adds to the ELLE demo's schedule (docs/baselines.md). */
export const BASELINES: Record<Exclude<MethodName, 'elle'>, { description: string; method: MethodSettingsInput; replay?: boolean }> = {
  naive: { description: 'sequential pre-training at the initial size, no memory', method: { name: 'naive' } },
  er: { description: 'experience replay (ratio 0.1, adaptive) at the initial size', method: { name: 'er' }, replay: true },
  // EWC and MAS lambda from bench:sweep (seed 100, docs/baselines.md): MAS 1e-4 has the lowest geometric AP on GPT and on BERT; EWC 100 on GPT, within the interval of BERT's best (10)
  ewc: {
    description: 'online EWC (lambda 100, per-sequence Fisher, gamma 1) at the initial size',
    method: { name: 'ewc', lambda: 100, gamma: 1, samples: 16, fisher: 'sequence' }
  },
  mas: { description: 'MAS (lambda 1e-4) at the initial size', method: { name: 'mas', lambda: 1e-4, samples: 16 } },
  agem: { description: 'A-GEM (one memory batch per update) at the initial size', method: { name: 'agem', refBatches: 1 } },
  'logit-kd': { description: 'logit distillation from the previous stage (alpha 0.5, tau 2) at the initial size', method: { name: 'logit-kd', alpha: 0.5, temperature: 2 } },
  pnn: { description: 'progressive columns, one per domain, with lateral adapters', method: { name: 'pnn' } },
  joint: { description: 'upper bound: the final-size model on a uniform mixture of all domains seen so far', method: { name: 'joint' } },
  scratch: { description: 'the final-size model trained once on the whole stream (compute reference)', method: { name: 'scratch' } },
  rewarm: { description: 're-warm and re-decay the LR per stage (to 0.1 x peak), with replay 0.1, at the initial size', method: { name: 'rewarm', minLrRatio: 0.1 }, replay: true }
}

/**
 * A baseline on the same stream and step budget as an ELLE config: warm-up steps become training steps
 * of the stage (equal updates per stage), growth is dropped (joint and scratch keep it: it sets their
 * final size), and replay stays only for the methods that replay.
 */
export function baselineConfig(elle: RunConfigInput, method: MethodSettingsInput, replays: boolean): RunConfigInput {
  const keepsGrowth = method.name === 'joint' || method.name === 'scratch'
  return {
    ...elle,
    name: elle.name.replace(/^elle-/, `${method.name}-`),
    replay: replays ? elle.replay : { ratio: 0, weights: 'uniform' },
    method,
    stages: elle.stages.map((s) => ({
      domain: s.domain,
      steps: s.steps + (s.frwSteps ?? 0),
      ...(keepsGrowth && s.grow ? { grow: s.grow } : {}),
      ...(replays && s.replay ? { replay: s.replay } : {})
    }))
  }
}

const baselinePresets = (kind: 'gpt' | 'bert'): Preset[] =>
  Object.values(BASELINES).map((b) => {
    const config = baselineConfig(elleDemo(kind), b.method, b.replay === true)
    return { name: config.name, description: `Baseline: ${b.description}; tiny ${kind.toUpperCase()}, the ELLE demo's stream and steps`, config }
  })

export const PRESETS: readonly Preset[] = [
  {
    name: 'elle-gpt-demo',
    description: 'ELLE on a tiny GPT over the six default domains: growth (elle mode), warm-up, prompts, adaptive replay; ~10 min on one core',
    config: elleDemo('gpt')
  },
  {
    name: 'elle-bert-demo',
    description: 'ELLE on a tiny BERT (masked LM) over the six default domains; ~10 min on one core',
    config: elleDemo('bert')
  },
  {
    name: 'elle-bert-paper-shape',
    description: "The reference's BERT schedule (L6 H6 growing +2,+2,+1,+1 layers and heads to L12 H12) at head size 16 (hidden 96 -> 192); hours on a CPU",
    config: {
      name: 'elle-bert-paper-shape',
      model: { kind: 'bert', layers: 6, heads: 6, headSize: 16 },
      training: { seqLen: 128, batchSize: 16, accumulation: 2, lr: 5e-4, warmupFraction: 0.08, validateEvery: 250, checkpointEvery: 500 },
      growth: { mode: 'elle', noise: 0.01, globalNoise: true, optimizer: 'reset' },
      replay: { ratio: 0.1, weights: 'adaptive' },
      memory: { fraction: 0.06 },
      stages: [
        { domain: 'press', steps: 6250 },
        { domain: 'humanities', steps: 2000, frwSteps: 500, grow: { layers: 2, heads: 2 } },
        { domain: 'hobbies', steps: 2000, frwSteps: 500, grow: { layers: 2, heads: 2 } },
        { domain: 'learned', steps: 2000, frwSteps: 500, grow: { layers: 1, heads: 1 } },
        { domain: 'fiction', steps: 2000, frwSteps: 500, grow: { layers: 1, heads: 1 } }
      ]
    }
  },
  ...baselinePresets('gpt'),
  ...baselinePresets('bert')
]

export function findPreset(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name)
  if (!preset) throw new Error(`unknown preset "${name}"; presets: ${PRESETS.map((p) => p.name).join(', ')}`)
  return preset
}
