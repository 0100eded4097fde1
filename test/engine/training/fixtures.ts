// Small real data for training tests: two synthetic domains with distinct vocabularies, a real BPE
// tokenizer trained on them, and the real token cache. Nothing here is a stub of the engine.
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { tokenizeDomain, trainTokenizer } from '../../../src/main/engine/data'
import { parseRunConfig, type RunConfig, type RunConfigInput } from '../../../src/main/engine/training/config'
import type { RunData } from '../../../src/main/engine/training/data'
import { tempDir } from '../../helpers/tmp'

const WORDS: Record<string, string[]> = {
  alpha: ['the', 'court', 'ruled', 'that', 'city', 'council', 'must', 'pay', 'tax', 'on', 'new', 'roads', 'today'],
  beta: ['a', 'ship', 'sailed', 'past', 'green', 'islands', 'under', 'bright', 'stars', 'at', 'night', 'slowly']
}

/** Deterministic text in which each word predicts the next often enough for a tiny model to learn. */
function domainText(domain: string, doc: number, words = 300): string {
  const vocab = WORDS[domain]!
  let x = (doc + 1) * 2654435761
  const out: string[] = []
  let i = doc % vocab.length
  for (let w = 0; w < words; w++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    i = x % 4 === 0 ? x % vocab.length : (i + 1) % vocab.length
    out.push(vocab[i]!)
  }
  return out.join(' ') + '.'
}

export async function useBackend(name: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  await tf.setBackend(name)
  await tf.ready()
}

export async function makeRunData(documents = 24): Promise<RunData> {
  const dir = tempDir('elle-train-data-')
  const texts: string[] = []
  for (const domain of Object.keys(WORDS)) {
    fs.mkdirSync(path.join(dir, domain))
    for (let d = 0; d < documents; d++) {
      const text = domainText(domain, d)
      texts.push(text)
      fs.writeFileSync(path.join(dir, domain, `doc${d}.txt`), text)
    }
  }
  const tokenizer = await trainTokenizer({ texts, vocabSize: 320 })
  const tokenizerFile = tokenizer.save(path.join(dir, 'tokenizer'))
  const domains: RunData['domains'] = new Map()
  let slot = 0
  for (const name of Object.keys(WORDS)) {
    const t = await tokenizeDomain({ name, corpus: { paths: [path.join(dir, name)] } }, tokenizer, path.join(dir, 'cache'))
    domains.set(name, { name, promptSlot: slot++, train: t.splits.train, validation: t.splits.validation, test: t.splits.test })
  }
  return { tokenizer, tokenizerFile, domains }
}

export function tinyConfig(kind: 'gpt' | 'bert', overrides: Partial<RunConfigInput> = {}): RunConfig {
  return parseRunConfig({
    name: `tiny-${kind}`,
    model: { kind, layers: 1, heads: 2, headSize: 8 },
    training: { seqLen: 16, batchSize: 4, lr: 3e-3, validateEvery: 10, validationSequences: 8, checkpointEvery: 1000, seed: 7 },
    stages: [{ domain: 'alpha', steps: 30 }],
    ...overrides
  })
}
