// Resource bounds of a run: every stage (after growth) is estimated before anything is stored; sizes no
// machine can hold, and sizes beyond this machine's budget, are refused through the API with the estimate
// in the message and no experiment or run row written. The estimate is checked against a measured peak.
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createApiHandler, type ApiHandler } from '../../../src/main/engine/api/handler'
import { Engine } from '../../../src/main/engine/engine'
import { useBackend } from '../../../src/main/engine/model/backend'
import { parameterCount, type ModelConfig } from '../../../src/main/engine/model/config'
import { parameterShapes } from '../../../src/main/engine/model/model'
import { TransformerModel } from '../../../src/main/engine/model/model'
import { Trainer } from '../../../src/main/engine/model/train'
import { budgetOf, checkRunResources, estimateRun, trainingWorkerResourceLimits, workerResourceLimits } from '../../../src/main/engine/resources'
import { parseRunConfig, type RunConfigInput } from '../../../src/main/engine/training/config'
import { PRESETS } from '../../../src/main/engine/training/presets'
import { modelConfigFor } from '../../../src/main/engine/training/run'
import { rejection } from '../../helpers/api'
import { tempDir } from '../../helpers/tmp'

const GB = 1e9
/** what the injected budget says is available: generous unless a test lowers it */
let available = 64 * GB
let engine: Engine
let handler: ApiHandler

beforeAll(async () => {
  await useBackend('wasm')
  engine = await Engine.open({
    dbPath: path.join(tempDir(), 'bounds.sqlite'),
    dataDir: inject('dataDir'),
    backend: { flag: 'wasm' },
    memoryBudget: () => budgetOf(available, { backend: 'wasm' })
  })
  handler = createApiHandler(engine, 'browser')
})
afterAll(async () => engine.close())

const base = (over: Partial<RunConfigInput> = {}): RunConfigInput => ({
  name: 'bounds',
  model: { kind: 'gpt', layers: 2, heads: 2, headSize: 32 },
  stages: [{ domain: 'press', steps: 10 }],
  ...over
})

/** runs.start through the API handler: the refusal, and the rows before and after (must be equal). */
async function refused(config: RunConfigInput): Promise<string> {
  const rows = (): number[] => [engine.store.listExperiments().length, engine.store.listRuns().length]
  const before = rows()
  const error = await rejection(handler('runs.start', { config }))
  expect(error.code).toBe('bad_request')
  expect(rows()).toEqual(before)
  return error.message
}

describe('runs.start refuses what no machine can hold, before anything is stored', () => {
  it('96 layers x 128 heads x head size 512', async () => {
    const message = await refused(base({ model: { kind: 'gpt', layers: 96, heads: 128, headSize: 512 } }))
    expect(message).toMatch(/^config: model\.heads: each attention kernel would be one tensor of 4\.29e\+9 values \(hidden 65536 x 65536\); a tensor holds at most 2147483647/)
    expect(message).toMatch(
      /stages\.0 \("press": 96 layers, 128 heads of 512 = hidden 65536, ffn 262144\) would need about [\d.]+ TB \([\d.]+ T parameters; activations [\d.]+ [TG]B at batch 16 x 64\)$/
    )
  })

  it('grow.layers: 100000000, instantly', async () => {
    const message = await refused(
      base({
        stages: [
          { domain: 'press', steps: 10 },
          { domain: 'fiction', steps: 10, grow: { layers: 100_000_000, heads: 0 } }
        ]
      })
    )
    expect(message).toMatch(
      /^config: stages\.1\.grow\.layers: the model would have 100000002 layers after this growth; at most 96 \(the range of model\.layers\); stages\.1 \("fiction", after growth: 100000002 layers.*would need about [\d.]+ PB \([\d.]+ T parameters/
    )
  })

  it('batch 4096 x sequence 4096', async () => {
    const message = await refused(base({ training: { batchSize: 4096, seqLen: 4096 } }))
    expect(message).toMatch(
      /^config: training\.batchSize: the attention scores would be one tensor of 1\.37e\+11 values \(batch 4096 x 2 heads x 4096 x 4096 positions\).*would need about [\d.]+ TB .*at batch 4096 x 4096\)$/
    )
  })

  it('ffn: 1e12 names model.ffn, not a typed array', async () => {
    const message = await refused(base({ model: { kind: 'gpt', layers: 2, heads: 2, headSize: 32, ffn: 1e12 } }))
    expect(message).toMatch(/^config: model\.ffn: each FFN kernel would be one tensor of 6\.40e\+13 values \(hidden 64 x ffn 1000000000000\).*would need about [\d.]+ PB/)
    expect(message).not.toMatch(/typed array/)
  })
})

describe('runs.start refuses what this machine cannot hold', () => {
  it('names the first stage (after growth) over the budget, with the estimate and what is available', async () => {
    available = 2 * GB
    try {
      const grows = base({
        model: { kind: 'gpt', layers: 2, heads: 2, headSize: 64 },
        training: { batchSize: 8, seqLen: 128 },
        stages: [
          { domain: 'press', steps: 10 },
          { domain: 'humanities', steps: 10, grow: { layers: 2, heads: 2 } },
          { domain: 'hobbies', steps: 10, grow: { layers: 4, heads: 4 } }
        ]
      })
      const message = await refused(grows)
      expect(message).toMatch(
        /^config: stages\.2 \("hobbies", after growth: 8 layers, 8 heads of 64 = hidden 512, ffn 2048\) needs about [\d.]+ GB \([\d.]+ M parameters; activations [\d.]+ GB at batch 8 x 128\); this machine has 2\.0 GB available, of which 80% \(1\.6 GB\) may be planned for$/
      )
    } finally {
      available = 64 * GB
    }
  })

  it('refuses more tensor memory than the wasm heap holds, however much the machine has', async () => {
    const message = await refused(base({ model: { kind: 'gpt', layers: 24, heads: 16, headSize: 64 }, training: { batchSize: 64, seqLen: 512 } }))
    expect(message).toMatch(/^config: stages\.0 \("press": 24 layers.*needs about [\d.]+ GB \(311\.0 M parameters; .*; the wasm backend holds at most 4\.3 GB of tensors$/)
  })

  it('refuses to resume a run this machine cannot hold now, leaving it as it was', async () => {
    const config = parseRunConfig(base({ name: 'bounds-resume', model: { kind: 'gpt', layers: 8, heads: 8, headSize: 64 }, training: { batchSize: 8, seqLen: 128 } }))
    // created (and stopped) while the machine had room
    const run = engine.createRun(config.name, config)
    engine.setRunStatus(run.id, 'cancelled')
    available = 1 * GB
    try {
      const error = await rejection(handler('runs.resume', { id: run.id }))
      expect(error.code).toBe('bad_request')
      expect(error.message).toMatch(/^experiment \d+ config: stages\.0 \("press": 8 layers.*needs about [\d.]+ GB .*; this machine has 1\.0 GB available/)
      expect(engine.store.getRun(run.id).status).toBe('cancelled')
    } finally {
      available = 64 * GB
    }
  })

  it('passes every preset on a machine with 8 GB available, the demos with 2 GB', () => {
    for (const preset of PRESETS) {
      const config = parseRunConfig(preset.config)
      expect(() => checkRunResources(config, { budget: budgetOf(8 * GB, { backend: 'wasm' }) }), preset.name).not.toThrow()
      if (preset.name.endsWith('-demo')) expect(() => checkRunResources(config, { budget: budgetOf(2 * GB, { backend: 'wasm' }) }), preset.name).not.toThrow()
    }
  })

  it('accepts and queues a demo preset through the API', async () => {
    const config = PRESETS.find((p) => p.name === 'elle-gpt-demo')!.config
    const run = (await handler('runs.start', { config })) as { id: number; status: string }
    expect(run.status).toBe('queued')
    engine.cancelRun(run.id)
    expect((await engine.host.waitFor(run.id)).status).toBe('cancelled')
  })
})

describe('the estimate', () => {
  it('counts parameters as the model lays them out', () => {
    const shapes: ModelConfig[] = [
      { kind: 'gpt', layers: 3, heads: 4, headSize: 8, hidden: 32, ffn: 100, vocabSize: 500, maxLength: 64, dropout: 0, norm: 'pre' },
      { kind: 'bert', layers: 2, heads: 3, headSize: 16, hidden: 48, ffn: 192, vocabSize: 300, maxLength: 32, dropout: 0, norm: 'post' },
      { kind: 'gpt', layers: 1, heads: 2, headSize: 16, hidden: 32, ffn: 128, vocabSize: 100, maxLength: 16, dropout: 0, norm: 'post' }
    ]
    for (const cfg of shapes) {
      const laidOut = [...parameterShapes(cfg).values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0)
      expect(parameterCount(cfg)).toBe(laidOut)
    }
  })

  it('follows growth stage by stage and adds what methods keep', () => {
    const elle = estimateRun(parseRunConfig(PRESETS.find((p) => p.name === 'elle-gpt-demo')!.config))
    expect(elle.stages.map((s) => [s.layers, s.heads, s.grown])).toEqual([
      [2, 2, false],
      [3, 3, true],
      [3, 4, true],
      [4, 4, true],
      [4, 5, true],
      [5, 5, true]
    ])
    expect(elle.peak.stage).toBe(5)
    const naive = estimateRun(parseRunConfig(PRESETS.find((p) => p.name === 'naive-gpt-demo')!.config)).peak
    const ewc = estimateRun(parseRunConfig(PRESETS.find((p) => p.name === 'ewc-gpt-demo')!.config)).peak
    expect(ewc.bytes.method).toBe(6 * 4 * naive.params)
    const pnn = estimateRun(parseRunConfig(PRESETS.find((p) => p.name === 'pnn-gpt-demo')!.config))
    expect(pnn.stages[3]!.bytes.method).toBeGreaterThan(3 * 4 * naive.params) // three frozen columns and more
    const scratch = estimateRun(parseRunConfig(PRESETS.find((p) => p.name === 'scratch-gpt-demo')!.config))
    expect(scratch.stages[0]!.hidden).toBe(160) // the final size from the start
  })

  // Measured in this file's process on the wasm backend: tf.profile's peak of one update of a tiny GPT and
  // BERT (after a first update allocated Adam) against the estimate's tensor bytes: 4.7 MB measured vs 5.3 MB
  // estimated (GPT, 1.12x), 3.9 vs 4.5 MB (BERT, 1.15x). The constants were fitted on 19 shapes (see
  // src/main/engine/resources/estimate.ts) to 1.06-1.13x; the test asks for at least 1x and under 3x.
  it.each(['gpt', 'bert'] as const)('is within 3x of the measured peak of a tiny %s, never below it', async (kind) => {
    const vocab = 500
    const config = parseRunConfig(base({ model: { kind, layers: 2, heads: 2, headSize: 16 }, training: { batchSize: 4, seqLen: 32 } }))
    const estimate = estimateRun(config, vocab).stages[0]!.bytes.tensors
    const model = new TransformerModel(modelConfigFor(config, vocab))
    const trainer = new Trainer(model, { schedule: { peak: 1e-3, warmupSteps: 1, totalSteps: 10 }, padId: 0 })
    const B = config.training.batchSize
    const T = config.training.seqLen
    const ids = tf.tensor2d(
      Int32Array.from({ length: B * T }, (_, i) => 10 + ((i * 7) % (vocab - 10))),
      [B, T],
      'int32'
    )
    // BERT: about 15% of the positions labelled, as masking leaves them
    const labels =
      kind === 'bert'
        ? tf.tensor2d(
            Int32Array.from({ length: B * T }, (_, i) => (i % 7 === 0 ? 10 + (i % 50) : -100)),
            [B, T],
            'int32'
          )
        : undefined
    try {
      await trainer.trainStep([{ inputIds: ids, labels }])
      const profile = await tf.profile(async () => void (await trainer.trainStep([{ inputIds: ids, labels }])))
      const ratio = estimate / profile.peakBytes
      expect(ratio).toBeGreaterThanOrEqual(1)
      expect(ratio).toBeLessThan(3)
    } finally {
      trainer.dispose()
      model.dispose()
      tf.dispose([ids, ...(labels ? [labels] : [])])
    }
  })
})

describe('worker resource limits', () => {
  it('size the V8 heap from the method state, with a floor, and fall back for a config that does not parse', () => {
    const big = (method: 'naive' | 'ewc'): number =>
      workerResourceLimits(estimateRun(parseRunConfig(base({ model: { kind: 'gpt', layers: 24, heads: 16, headSize: 64 }, method: { name: method } })))).maxOldGenerationSizeMb!
    expect(big('naive')).toBe(2048)
    expect(big('ewc')).toBeGreaterThan(big('naive')) // importance and anchor as base64 JSON at each checkpoint
    expect(trainingWorkerResourceLimits({ nonsense: true })).toEqual({ maxOldGenerationSizeMb: 2048 })
    expect(trainingWorkerResourceLimits(base()).maxOldGenerationSizeMb).toBe(2048)
  })
})
