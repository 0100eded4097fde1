// A run trained in the worker thread on wasm-native: onnxruntime's native binding loads inside a worker
// thread and the run finishes with its backend recorded. (A process selects one backend for its lifetime;
// equality with plain wasm is checked in test/engine/model/native-matmul.test.ts.)
import path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { Engine } from '../../../src/main/engine/engine'
import type { RunConfigInput } from '../../../src/main/engine/training/config'
import { tempDir } from '../../helpers/tmp'

const engines: Engine[] = []
afterAll(async () => {
  for (const e of engines) await e.close()
})

const config = (name: string): RunConfigInput => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 16, checkpointEvery: 10 },
  stages: [{ domain: 'press', steps: 10 }]
})

async function train(backend: 'wasm-native'): Promise<{ backend: string | null; losses: number[] }> {
  const engine = await Engine.open({ dbPath: path.join(tempDir(), `${backend}.sqlite`), dataDir: inject('dataDir'), backend: { flag: backend } })
  engines.push(engine)
  expect(engine.backend.active).toBe(backend)
  const run = engine.startRun(config(`native-${backend}`))
  const done = await engine.host.waitFor(run.id)
  expect(done.status).toBe('finished')
  return { backend: done.backend, losses: engine.store.readMetrics(run.id, { name: 'loss' }).map((p) => p.value) }
}

describe('wasm-native in the training worker', () => {
  it('trains a run to the end and records the backend', async () => {
    const native = await train('wasm-native')
    expect(native.backend).toBe('wasm-native')
    expect(native.losses).toHaveLength(10)
    expect(native.losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true)
  })
})
