// A real tiny run on the shared default stream (press, then e-mail), trained in-process by the same
// controller the worker uses, so its store holds real stage rows and end-of-stage checkpoints.
import fs from 'node:fs'
import path from 'node:path'
import { ExperimentStore } from '../../../src/main/engine/store/store'
import { parseRunConfig, type RunConfigInput } from '../../../src/main/engine/training/config'
import { RunController } from '../../../src/main/engine/training/run'
import { tempDir } from '../../helpers/tmp'

export interface TinyRun {
  store: ExperimentStore
  dbPath: string
  runId: number
  /** The workbench data dir: the shared prepared default stream is linked in, runs are written here. */
  dataDir: string
}

/** A data dir of its own (runs/ and the store stay per test file) that reuses the prepared default stream. */
export function linkedDataDir(sharedDataDir: string): string {
  const dir = tempDir('elle-downstream-')
  fs.symlinkSync(path.join(sharedDataDir, 'default-stream'), path.join(dir, 'default-stream'))
  return dir
}

export async function tinyRun(sharedDataDir: string, overrides: Partial<RunConfigInput> = {}): Promise<TinyRun> {
  const dataDir = linkedDataDir(sharedDataDir)
  const dbPath = path.join(dataDir, 'experiments.sqlite')
  const store = ExperimentStore.open(dbPath)
  const config = parseRunConfig({
    name: 'downstream-tiny',
    model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
    training: { seqLen: 32, batchSize: 8, lr: 3e-3, validateEvery: 1000, validationSequences: 8, checkpointEvery: 1000, seed: 3 },
    stages: [
      { domain: 'press', steps: 12 },
      { domain: 'email', steps: 12 }
    ],
    ...overrides
  })
  const run = store.createRun(store.ensureExperiment(config.name, config).id)
  store.setRunStatus(run.id, 'running')
  const outcome = await new RunController().execute({ runId: run.id, dbPath, dataDir, backend: { flag: 'wasm' } }, { progress: () => {}, log: () => {} })
  if (outcome.status !== 'finished') throw new Error(`the tiny run did not finish: ${JSON.stringify(outcome)}`)
  store.setRunStatus(run.id, 'finished')
  return { store, dbPath, runId: run.id, dataDir }
}

/** Everything a refusal must leave untouched. */
export function storeSnapshot(store: ExperimentStore, runId: number): unknown {
  return { evaluations: store.listEvaluations(runId), checkpoints: store.listCheckpoints(runId), stages: store.listStages(runId), runs: store.listRuns() }
}
