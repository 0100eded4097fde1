// Methods through the engine: a run in a worker thread writes checkpoints whose state carries the
// method's own state (importance and anchor, frozen PNN columns; their tensors in plugins.safetensors).
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { Engine } from '../../../src/main/engine/engine'
import type { RunConfigInput } from '../../../src/main/engine/training/config'
import { tempDir } from '../../helpers/tmp'

let engine: Engine
beforeAll(async () => {
  engine = await Engine.open({ dbPath: path.join(tempDir(), 'runs.sqlite'), dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
})
afterAll(async () => engine.close())

const config = (name: string, method: Record<string, unknown>): RunConfigInput =>
  ({
    name,
    model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
    // periodic checkpoints inside each stage too (with Adam moments; PNN's laterals stay out of them)
    training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 16, checkpointEvery: 4 },
    memory: { fraction: 0.05 },
    method,
    stages: [
      { domain: 'press', steps: 10 },
      { domain: 'hobbies', steps: 10 }
    ]
  }) as RunConfigInput

describe('methods in the runner', () => {
  for (const name of ['ewc', 'pnn', 'logit-kd', 'joint'] as const) {
    it(`${name}: finishes in a worker with its state in the checkpoints`, async () => {
      const run = engine.startRun(config(`runner-${name}`, { name }))
      const done = await engine.host.waitFor(run.id)
      expect(done.error ?? null).toBeNull()
      expect(done.status).toBe('finished')
      const checkpoints = engine.store.listCheckpoints(run.id)
      expect(checkpoints.map((c) => c.step)).toEqual([10, 20])
      const first = await loadCheckpoint(checkpoints[0]!.path, { optimizer: false })
      const plugins = (first.state as { plugins: Record<string, unknown> }).plugins
      if (name === 'ewc') {
        // importance and anchor are tensors beside the model, referenced by name from state.json
        expect((plugins.ewc as { importance: { names: string[] } }).importance.names).toContain('embed.token')
        expect(first.pluginTensors['ewc/importance/embed.token']!.shape).toEqual(first.weights['embed.token']!.shape)
        expect(JSON.stringify(first.state)).not.toContain('base64')
        // the penalty curve is stored for the second stage only (no penalty before a domain ends)
        const penalty = engine.store.readMetrics(run.id, { name: 'penalty' })
        expect(penalty.length).toBeGreaterThan(0)
        expect(penalty.every((p) => p.step > 10 && p.value > 0)).toBe(true)
      }
      if (name === 'pnn') expect((plugins.pnn as { columns: Array<{ domain: string }> }).columns.map((c) => c.domain)).toEqual(['press'])
      if (name === 'logit-kd') expect(plugins['logit-kd']).toMatchObject({ config: { layers: 1 }, weights: { tensors: 'teacher' } })
      const params = engine.store.readMetrics(run.id, { name: 'params' }).map((p) => p.value)
      if (name === 'pnn') expect(params[1]!).toBeGreaterThan(params[0]! * 2)
      else expect(params[1]).toBe(params[0])
    })
  }
})
