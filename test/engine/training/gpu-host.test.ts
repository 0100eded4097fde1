// Runs through the engine on its host's GPU page (Engine.attachGpuPage; Electron's GPU window in the app): the run's
// worker thread sends its page requests to the trainer host, which relays them to the page and posts back the answers.
// The page's end here is the page's own GpuSession on wasm in this thread (the real page in Chromium:
// test/e2e/gpu-page-training.test.ts). Real store, real worker, real wasm backend.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { GpuSession } from '../../../src/main/engine/backend/gpu-page/session'
import { Engine } from '../../../src/main/engine/engine'
import type { RunConfigInput } from '../../../src/main/engine/training/config'
import type { GpuPageRelay } from '../../../src/main/engine/training/gpu-page-gradients'
import { tempDir } from '../../helpers/tmp'

let engine: Engine
const logs: Array<{ runId: number; message: string }> = []

beforeAll(async () => {
  engine = await Engine.open({
    dbPath: path.join(tempDir(), 'runs.sqlite'),
    dataDir: inject('dataDir'),
    backend: { flag: 'wasm' },
    log: (runId, message) => logs.push({ runId, message })
  })
})
afterAll(async () => engine.close())

/** The page's session behind a relay, as Electron's GPU window is behind its port; `fail` makes it answer nothing but errors. */
function sessionRelay(): GpuPageRelay & { ops: string[]; session: GpuSession; fail: string | null } {
  const session = new GpuSession(async () => ({ vendor: '', architecture: '', device: '', description: 'wasm session', software: true }))
  let id = 1
  const relay = {
    device: 'wasm session (test)',
    ops: [] as string[],
    session,
    fail: null as string | null,
    async request(call: Parameters<GpuPageRelay['request']>[0]): Promise<unknown> {
      relay.ops.push(call.op)
      if (relay.fail) throw new Error(relay.fail)
      const response = structuredClone(await session.handle(structuredClone({ ...call, id: id++ })))
      if (!response.ok) throw new Error(response.error)
      return response.result
    }
  }
  return relay
}

const config = (name: string, steps: number): RunConfigInput => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 8, accumulation: 2, validateEvery: 5, validationSequences: 16, checkpointEvery: 100, seed: 3 },
  stages: [{ domain: 'press', steps }]
})

const lossesOf = (runId: number): number[] => engine.store.readMetrics(runId, { name: 'loss' }).map((p) => p.value)

describe('a run on the host GPU page', () => {
  it('computes every micro-batch on the page through the host, logs it, and trains as on this process alone', async () => {
    const alone = engine.startRun(config('gpu-host-alone', 6))
    expect((await engine.host.waitFor(alone.id)).status).toBe('finished')

    const relay = sessionRelay()
    engine.attachGpuPage(relay)
    const run = engine.startRun(config('gpu-host-page', 6))
    const done = await engine.host.waitFor(run.id)
    engine.attachGpuPage(null)
    expect(done.status).toBe('finished')
    expect(logs.filter((l) => l.runId === run.id).map((l) => l.message)).toContainEqual(expect.stringMatching(/^gradients on the GPU window \(wasm session \(test\)\): /))
    // the model once, each update's weights, and both micro-batches of every update
    expect(relay.ops.filter((op) => op === 'model')).toHaveLength(1)
    expect(relay.ops.filter((op) => op === 'weights')).toHaveLength(6)
    expect(relay.ops.filter((op) => op === 'gradients')).toHaveLength(12)
    const [a, b] = [lossesOf(alone.id), lossesOf(run.id)]
    expect(b).toHaveLength(6)
    b.forEach((loss, i) => expect(Math.abs(loss - a[i]!)).toBeLessThan(1e-5 * Math.max(1, a[i]!)))
    relay.session.dispose()
  })

  it('fails the run, naming the GPU window and why, when the page stops answering', async () => {
    const relay = sessionRelay()
    relay.fail = "the GPU page's renderer is gone (crashed)"
    engine.attachGpuPage(relay)
    const run = engine.startRun(config('gpu-host-gone', 6))
    const done = await engine.host.waitFor(run.id)
    engine.attachGpuPage(null)
    expect(done.status).toBe('failed')
    expect(done.error).toMatch(/^training on the GPU window \(wasm session \(test\)\) failed \(model\): the GPU page's renderer is gone \(crashed\)/)
    relay.session.dispose()
  })
})
