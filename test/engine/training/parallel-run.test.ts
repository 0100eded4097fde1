// A stored run with training.workers = 2, through the controller the training worker uses: it trains with
// a replica thread, is cancelled mid-stage, resumes from its checkpoint (again on 2 workers) and ends with
// the same losses and weights as the same run on 1 worker; logit-KD and PNN runs share their updates too
// (the replicas hold the teacher, rebuild the columns); only a backend without data-parallel threads falls
// back to 1 worker, saying why.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { estimateRun } from '../../../src/main/engine/resources'
import { ExperimentStore } from '../../../src/main/engine/store/store'
import { parseRunConfig, type RunConfigInput } from '../../../src/main/engine/training/config'
import { parallelFallback, RunController, type TrainingJob } from '../../../src/main/engine/training/run'
import { linkedDataDir } from '../downstream/helpers'

let store: ExperimentStore
let dataDir: string
let dbPath: string

beforeAll(() => {
  dataDir = linkedDataDir(inject('dataDir'))
  dbPath = path.join(dataDir, 'experiments.sqlite')
  store = ExperimentStore.open(dbPath)
})
afterAll(() => store?.close())

let experiments = 0
const configOf = (workers: number, overrides: Partial<RunConfigInput> = {}) =>
  parseRunConfig({
    name: `parallel-${workers}-${++experiments}`,
    model: { kind: 'gpt', layers: 1, heads: 2, headSize: 8 },
    training: { seqLen: 32, batchSize: 6, lr: 3e-3, validateEvery: 4, validationSequences: 4, checkpointEvery: 1000, seed: 5, workers },
    stages: [
      { domain: 'press', steps: 6 },
      { domain: 'email', steps: 6 }
    ],
    ...overrides
  })

function newRun(workers: number, overrides: Partial<RunConfigInput> = {}): number {
  const config = configOf(workers, overrides)
  const run = store.createRun(store.ensureExperiment(config.name, config).id)
  store.setRunStatus(run.id, 'running')
  return run.id
}

async function execute(runId: number, stopAtStep = Infinity): Promise<{ status: string; logs: string[]; workers: Set<number | undefined> }> {
  const controller = new RunController()
  const logs: string[] = []
  const workers = new Set<number | undefined>()
  const job: TrainingJob = { runId, dbPath, dataDir, backend: { flag: 'wasm' } }
  const outcome = await controller.execute(job, {
    progress: (p) => {
      workers.add(p.workers)
      if (p.step >= stopAtStep) controller.cancel()
    },
    log: (m) => logs.push(m)
  })
  return { status: outcome.status, logs, workers }
}

describe('a stored run on 2 workers', () => {
  it('the memory estimate counts the replicas, and each thread holds half the activations', () => {
    const one = estimateRun(configOf(1)).peak.bytes
    const two = estimateRun(configOf(2)).peak.bytes
    expect(one.replicas).toBe(0)
    expect(two.activations).toBeCloseTo(one.activations / 2)
    expect(two.replicas).toBeGreaterThan(two.activations)
    expect(two.total).toBeGreaterThan(one.total)
    // logit-KD and PNN shard too: their replicas hold the teacher, the frozen columns, and their share of the activations
    for (const name of ['logit-kd', 'pnn']) {
      const kd1 = estimateRun(configOf(1, { method: { name } } as never)).peak.bytes
      const kd2 = estimateRun(configOf(2, { method: { name } } as never)).peak.bytes
      expect(kd2.activations).toBeCloseTo(kd1.activations / 2)
      expect(kd2.replicas).toBeGreaterThan(two.replicas)
    }
  })

  it('trains with a replica, resumes mid-stage, and equals the 1-worker run', async () => {
    const one = newRun(1)
    expect((await execute(one)).status).toBe('finished')

    const two = newRun(2)
    const first = await execute(two, 3)
    expect(first.status).toBe('cancelled')
    expect(first.logs.some((l) => l.startsWith('data-parallel: 2 workers on wasm'))).toBe(true)
    expect([...first.workers]).toEqual([2])
    const second = await execute(two)
    expect(second.status).toBe('finished')
    expect(second.logs.some((l) => l.startsWith('resuming from'))).toBe(true)

    const lossesOf = (runId: number) => store.readMetrics(runId, { name: 'loss' }).map((m) => [m.step, m.value])
    const a = lossesOf(one)
    const b = lossesOf(two)
    expect(a.length).toBeGreaterThanOrEqual(12)
    expect(b.map(([step]) => step)).toEqual(a.map(([step]) => step))
    b.forEach(([, loss], i) => expect(Math.abs(loss! - a[i]![1]!)).toBeLessThan(1e-4 * Math.max(1, a[i]![1]!)))
    const weightsOf = async (runId: number) => (await loadCheckpoint(store.listCheckpoints(runId).at(-1)!.path)).weights
    const [wa, wb] = await Promise.all([weightsOf(one), weightsOf(two)])
    let max = 0
    for (const [name, w] of Object.entries(wa)) w.data.forEach((x, i) => (max = Math.max(max, Math.abs(x - wb[name]!.data[i]!))))
    expect(max).toBeLessThan(1e-4)
  }, 180_000)

  it('shares logit-KD and PNN updates too; only a backend without data-parallel threads falls back, saying why', async () => {
    expect(parallelFallback('wasm')).toBeNull()
    expect(parallelFallback(null)).toMatch(/data-parallel threads are for the CPU backends/)
    for (const name of ['logit-kd', 'pnn']) {
      const run = newRun(2, { method: { name } } as never)
      const result = await execute(run)
      expect(result.status).toBe('finished')
      expect(result.logs.some((l) => l.startsWith('data-parallel: 2 workers on wasm'))).toBe(true)
      expect(result.logs.some((l) => l.includes('trains in 1 worker'))).toBe(false)
      expect([...result.workers]).toEqual([2])
    }
  }, 180_000)
})
