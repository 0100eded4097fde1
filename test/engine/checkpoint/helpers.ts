// Shared fixtures for checkpoint and export tests: a tiny trained tokenizer, tiny configs, random weights.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { trainTokenizer, type Tokenizer } from '../../../src/main/engine/data/tokenizer'
import { type ModelConfig, type ModelKind, makeModelConfig } from '../../../src/main/engine/model/config'
import { parameterShapes, type Weights } from '../../../src/main/engine/model/model'
import type { AdamWState } from '../../../src/main/engine/model/optim'
import { Rng } from '../../../src/main/engine/model/rng'
import type { SaveCheckpointInput } from '../../../src/main/engine/checkpoint/checkpoint'

export const VOCAB = 300
const TEXTS = ['the quick brown fox jumps over the lazy dog', 'pack my box with five dozen liquor jugs', 'how vexingly quick daft zebras jump']

export async function tinyTokenizer(vocabSize = VOCAB): Promise<Tokenizer> {
  return trainTokenizer({ texts: TEXTS, vocabSize, promptSlots: 4 })
}

export function tinyConfig(kind: ModelKind, over: Partial<ModelConfig> = {}): ModelConfig {
  return { ...makeModelConfig(kind, { layers: 2, heads: 2, headSize: 16, vocabSize: VOCAB, maxLength: 16 }), ...over }
}

/** Every parameter random (biases and LayerNorm too), so a wrong mapping of any tensor shows. */
export function randomWeights(cfg: ModelConfig, seed = 1, scale = 0.1): Weights {
  const rng = new Rng(seed)
  const out: Weights = {}
  for (const [name, shape] of parameterShapes(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1))
    const base = name.endsWith('.gamma') ? 1 : 0
    for (let i = 0; i < data.length; i++) data[i] = base + rng.normal() * scale
    out[name] = { shape, data }
  }
  return out
}

export function randomAdam(cfg: ModelConfig, step = 7): AdamWState {
  return { step, m: randomWeights(cfg, 11, 0.01), v: randomWeights(cfg, 12, 0.001) }
}

export function checkpointInput(cfg: ModelConfig, tokenizer: Tokenizer, over: Partial<SaveCheckpointInput> = {}): SaveCheckpointInput {
  return {
    config: cfg,
    weights: randomWeights(cfg),
    optimizerState: randomAdam(cfg),
    tokenizer,
    state: {
      step: 7,
      stage: 1,
      stepInStage: 3,
      tokensSeen: 7168,
      wallSeconds: 12.5,
      flops: 1.5e12,
      rng: { dropout: 42, masking: [1, 2, 3] },
      iterator: { epoch: 0, position: 96 }
    },
    training: { lr: 3e-4, batch: 8 },
    experiment: { name: 'tiny', seed: 1 },
    ...over
  }
}

/** name -> sha256 of every file under dir (recursively), to prove a failed operation changed nothing. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex')
    }
  }
  walk(dir)
  return out
}

export function expectSameWeights(a: Weights, b: Weights): void {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  if (ka.join() !== kb.join()) throw new Error(`different tensors: [${ka}] vs [${kb}]`)
  for (const k of ka) {
    const x = a[k]!
    const y = b[k]!
    if (x.shape.join() !== y.shape.join()) throw new Error(`${k}: shape [${x.shape}] vs [${y.shape}]`)
    for (let i = 0; i < x.data.length; i++) if (!Object.is(x.data[i], y.data[i])) throw new Error(`${k}[${i}]: ${x.data[i]} vs ${y.data[i]}`)
  }
}
