// What `bench:train --phases` reads: a Trainer given a phase recorder reports every part of a sharded update
// (each update, in order, adding up to no more than the update's wall time); the replica pool adds up each
// replica's load, shard and write times with its own thread's CPU and run-queue wait (Linux:
// /proc/thread-self/schedstat); threadTime is this thread's clock, not the process's.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IGNORE_INDEX, makeModelConfig, TransformerModel, type LossBatch } from '../../../src/main/engine/model'
import { Trainer, type StepPart } from '../../../src/main/engine/model/train'
import { ReplicaPool } from '../../../src/main/engine/training/parallel'
import { threadTime, threadTimeSince } from '../../../src/main/engine/util/thread-time'
import { useBackend } from './fixtures'

let pool: ReplicaPool

beforeAll(async () => {
  await useBackend('wasm')
  pool = await ReplicaPool.start({ replicas: 1, backend: 'wasm' })
}, 60_000)

afterAll(async () => {
  await pool?.dispose()
})

function gptBatch(rows: number, seq: number, vocab: number, seed: number): LossBatch {
  const ids = new Int32Array(rows * seq).map((_, i) => 5 + ((i * 7 + seed * 13) % (vocab - 5)))
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX)
  for (let r = 0; r < rows; r++) for (let t = 0; t + 1 < seq; t++) labels[r * seq + t] = ids[r * seq + t + 1]!
  return { inputIds: tf.tensor2d(ids, [rows, seq], 'int32'), labels: tf.tensor2d(labels, [rows, seq], 'int32'), host: { inputIds: ids, labels } }
}

describe('the parts of a data-parallel update', () => {
  it('are each recorded once per update, in order, within the update, and the replica reports its shard and thread times', async () => {
    const cfg = makeModelConfig('gpt', { layers: 1, heads: 2, headSize: 4, hidden: 8, ffn: 16, vocabSize: 32, maxLength: 8 })
    const model = new TransformerModel(cfg, { seed: 1 })
    const seen: Array<[StepPart, number]> = []
    const trainer = new Trainer(model, { schedule: { peak: 1e-3, warmupSteps: 1, totalSteps: 10 }, shards: pool, phases: { add: (part, ms) => seen.push([part, ms]) } })
    const batches = [0, 1, 2].map((s) => gptBatch(4, 8, 32, s))
    pool.resetTimings()
    const order: StepPart[] = [
      'sync weights to replicas',
      'split + post shards',
      'forward + backward (own shard)',
      'barrier wait for replicas',
      'sum replica gradients',
      'global norm + reads',
      'clip + AdamW'
    ]
    try {
      for (const b of batches) {
        seen.length = 0
        const t0 = performance.now()
        await trainer.trainStep([b])
        const wall = performance.now() - t0
        expect(seen.map(([part]) => part)).toEqual(order)
        for (const [, ms] of seen) expect(ms).toBeGreaterThanOrEqual(0)
        expect(seen.reduce((s, [, ms]) => s + ms, 0)).toBeLessThanOrEqual(wall + 1e-6)
      }
      const [replica] = pool.timings()
      expect(replica!.shards).toBe(batches.length)
      expect(replica!.gradMs).toBeGreaterThan(0)
      if (process.platform === 'linux') {
        // its thread ran while computing, and one thread cannot run longer than the time it was timed for
        expect(replica!.cpuMs).toBeGreaterThan(0)
        expect(replica!.cpuMs!).toBeLessThanOrEqual(replica!.loadMs + replica!.gradMs + replica!.writeMs + 1)
        expect(replica!.waitMs).toBeGreaterThanOrEqual(0)
      }
      pool.resetTimings()
      expect(pool.timings()[0]!.shards).toBe(0)
    } finally {
      for (const b of batches) tf.dispose([b.inputIds, b.labels!])
      trainer.dispose()
      model.dispose()
    }
  })

  it('in one thread alone are the unsharded parts only', async () => {
    const cfg = makeModelConfig('gpt', { layers: 1, heads: 2, headSize: 4, hidden: 8, ffn: 16, vocabSize: 32, maxLength: 8 })
    const model = new TransformerModel(cfg, { seed: 1 })
    const seen: StepPart[] = []
    const alone = new Trainer(model, { schedule: { peak: 1e-3, warmupSteps: 1, totalSteps: 10 }, phases: { add: (part) => seen.push(part) } })
    const b = gptBatch(4, 8, 32, 0)
    try {
      await alone.trainStep([b])
      expect(seen).toEqual(['split + post shards', 'forward + backward (own shard)', 'global norm + reads', 'clip + AdamW'])
    } finally {
      tf.dispose([b.inputIds, b.labels!])
      alone.dispose()
      model.dispose()
    }
  })
})

describe('threadTime', () => {
  it("is this thread's CPU clock: it advances while this thread computes, by no more than the wall time", () => {
    if (process.platform !== 'linux') {
      expect(threadTime()).toBeNull()
      return
    }
    const start = threadTime()
    const t0 = performance.now()
    let x = 0
    for (let i = 0; i < 2e7; i++) x += i % 7
    const wall = performance.now() - t0
    const spent = threadTimeSince(start)
    expect(x).toBeGreaterThan(0)
    expect(spent!.cpuMs).toBeGreaterThan(0)
    expect(spent!.cpuMs).toBeLessThanOrEqual(wall + 1)
    expect(spent!.waitMs).toBeGreaterThanOrEqual(0)
  })
})
