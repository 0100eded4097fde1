// Ready-made experiments on the built-in default stream (press -> humanities -> hobbies -> learned ->
// fiction -> email). Demo presets are sized to finish in about ten minutes on one CPU core (wasm);
// the paper-shape preset keeps the reference's growth ratios at a width a laptop can hold.
import type { RunConfigInput } from './config'

export interface Preset {
  name: string
  description: string
  config: RunConfigInput
}

const STREAM = ['press', 'humanities', 'hobbies', 'learned', 'fiction', 'email'] as const

function elleDemo(kind: 'gpt' | 'bert'): RunConfigInput {
  return {
    name: `elle-${kind}-demo`,
    model: { kind, layers: 2, heads: 2, headSize: 32 },
    training: { seqLen: 64, batchSize: 16, lr: 2e-3, validateEvery: 50, validationSequences: 64, checkpointEvery: 200, seed: 0 },
    growth: { mode: 'elle', noise: 0.01, optimizer: 'reset', rampSteps: 50 },
    replay: { ratio: 0.1, weights: 'adaptive' },
    memory: { fraction: 0.1 },
    stages: STREAM.map((domain, i) =>
      i === 0
        ? { domain, steps: 400 }
        : { domain, steps: 250, frwSteps: 50, grow: i % 2 === 1 ? { layers: 1, heads: 1 } : { layers: 0, heads: 1 } }
    )
  }
}

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
      training: { seqLen: 128, batchSize: 16, accumulation: 2, lr: 5e-4, warmupFraction: 0.08, validateEvery: 250, validationSequences: 128, checkpointEvery: 500 },
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
  }
]

export function findPreset(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name)
  if (!preset) throw new Error(`unknown preset "${name}"; presets: ${PRESETS.map((p) => p.name).join(', ')}`)
  return preset
}
