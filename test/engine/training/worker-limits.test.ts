// Training workers run with heap limits: a worker that runs out of memory dies alone, the run fails with
// a message that says so, and the serving process goes on. Real engine, real worker bundle, real store.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Engine } from '../../../src/main/engine/engine'
import { tempDir } from '../../helpers/tmp'

let engine: Engine
const seen: unknown[] = []

beforeAll(async () => {
  engine = await Engine.open({
    dbPath: path.join(tempDir(), 'limits.sqlite'),
    dataDir: inject('dataDir'),
    backend: { flag: 'wasm' },
    // far too small for loading the corpora: the worker must hit it
    training: { workerLimits: (config) => (seen.push(config), { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 }) }
  })
})
afterAll(async () => engine.close())

describe('training worker resource limits', () => {
  it('a worker over its heap limit fails its run with that reason; the engine keeps serving', async () => {
    const run = engine.startRun({
      name: 'tiny-heap',
      model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
      training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 16, checkpointEvery: 10 },
      stages: [{ domain: 'press', steps: 20 }]
    })
    const done = await engine.host.waitFor(run.id)
    expect(done.status).toBe('failed')
    expect(done.error).toMatch(/^the training worker ran out of memory \(its JavaScript heap is limited to 8 MB\)/)
    // the limits were computed from the run's stored config
    expect(seen).toEqual([expect.objectContaining({ name: 'tiny-heap' })])
    expect(engine.store.getRun(run.id).status).toBe('failed')
    expect(engine.store.listRuns().map((r) => r.id)).toContain(run.id)
  })
})
