// A run killed with SIGKILL in the middle of a stage resumes from its last checkpoint with
// `elle run --resume`, and finishes with every stage's metrics present exactly once.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { tempDir } from '../helpers/tmp'

const BIN = path.resolve('bin/elle.mjs')

describe('kill -9 and resume', () => {
  it('loses no finished stage, repeats no step, and trains exactly as a run never stopped', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'store.sqlite')
    const env = { ...process.env, ELLE_BACKEND: 'wasm', ELLE_DB: db, ELLE_DATA_DIR: inject('dataDir') }
    const config = path.join(dir, 'two-stages.json')
    fs.writeFileSync(
      config,
      JSON.stringify({
        name: 'kill-me',
        model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
        training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 16, checkpointEvery: 10 },
        replay: { ratio: 0.25, weights: 'adaptive' },
        // exact growth 2 -> 3 heads at step 40: masks ramp over the next 60 updates, so the kill lands mid-ramp
        growth: { mode: 'exact', rampSteps: 60 },
        stages: [
          { domain: 'press', steps: 40 },
          { domain: 'hobbies', steps: 60, frwSteps: 10, grow: { layers: 1, heads: 1 } }
        ]
      })
    )
    const child = spawn(process.execPath, [BIN, 'run', config], { env, stdio: 'ignore' })
    // Wait until the run has a checkpoint inside its last phase, then kill it without warning.
    const store = ExperimentStore.open(db)
    let runId = 0
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100))
      const run = store.listRuns()[0]
      if (!run) continue
      runId = run.id
      if (store.listCheckpoints(run.id).some((c) => c.step >= 60)) break
    }
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    const killedAt = store.listCheckpoints(runId).at(-1)!.step
    expect(killedAt).toBeGreaterThanOrEqual(60)
    expect(killedAt).toBeLessThan(110)
    expect(store.getRun(runId).status).toBe('running') // nobody could record the kill
    store.close()

    const resumed = spawnSync(process.execPath, [BIN, 'run', '--resume', String(runId), '--json'], { env, encoding: 'utf8', timeout: 240_000 })
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout).run.status).toBe('finished')

    const after = ExperimentStore.open(db)
    const losses = after.readMetrics(runId, { name: 'loss' }).map((p) => p.step)
    expect(losses.join(',')).toEqual(Array.from({ length: 110 }, (_, i) => i + 1).join(','))
    // validation every 10 steps of each phase, plus phase ends: each point once
    expect(after.readMetrics(runId, { name: 'ppl/press' }).map((p) => p.step)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110])
    expect(after.readMetrics(runId, { name: 'ppl/hobbies' }).map((p) => p.step)).toEqual([60, 70, 80, 90, 100, 110])
    expect(after.readMetrics(runId, { name: 'ap_plus' }).length).toBeGreaterThan(0)
    const stages = after.getRunDetail(runId).stages
    expect(stages.map((s) => [s.kind, s.domain, s.status])).toEqual([
      ['train', 'press', 'finished'],
      ['frw', 'press', 'finished'],
      ['train', 'hobbies', 'finished']
    ])
    // the end-of-stage checkpoints of both stages survive; periodic ones were replaced
    expect(after.listCheckpoints(runId).map((c) => c.step)).toEqual(expect.arrayContaining([40, 50, 110]))
    expect(after.integrityCheck()).toEqual([])
    const params = after.readMetrics(runId, { name: 'params' })
    expect(params.at(-1)!.value).toBeGreaterThan(params[0]!.value) // the model grew

    // The same experiment run without interruption gives the same losses, step for step.
    const straight = spawnSync(process.execPath, [BIN, 'run', config, '--fresh', '--json'], { env, encoding: 'utf8', timeout: 240_000 })
    expect(straight.status, straight.stderr).toBe(0)
    const straightId = (JSON.parse(straight.stdout) as { run: { id: number } }).run.id
    const reference = after.readMetrics(straightId, { name: 'loss' }).map((p) => p.value)
    expect(after.readMetrics(runId, { name: 'loss' }).map((p) => p.value)).toEqual(reference)
    after.close()
  })
})
