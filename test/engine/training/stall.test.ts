// The split brain of issue 9, with real processes: `elle run` is stopped (SIGSTOP: a debugger, a laptop
// lid) past its lease, a second workbench recovers and resumes the run, then the first one wakes up. It
// must stop without writing, and the run must end once, trained by the second.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { Engine } from '../../../src/main/engine/engine'
import { ExperimentStore } from '../../../src/main/engine/store/store'
import { tempDir } from '../../helpers/tmp'

const BIN = path.resolve('bin/elle.mjs')

describe('a training process stopped past its lease', () => {
  it('wakes up to find its run taken over, and stops without writing while the new owner finishes it', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'store.sqlite')
    const config = path.join(dir, 'stall.json')
    fs.writeFileSync(
      config,
      JSON.stringify({
        name: 'stall-me',
        model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
        training: { seqLen: 32, batchSize: 8, validateEvery: 5, validationSequences: 16, checkpointEvery: 10 },
        stages: [{ domain: 'press', steps: 60 }]
      })
    )
    const env = { ...process.env, ELLE_BACKEND: 'wasm', ELLE_DB: db, ELLE_DATA_DIR: inject('dataDir') }
    const first = spawn(process.execPath, [BIN, 'run', config], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    first.stdout.on('data', (d: Buffer) => (output += d.toString()))
    first.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)))

    const watch = ExperimentStore.open(db)
    let runId = 0
    for (let i = 0; i < 1200 && runId === 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      const run = watch.listRuns()[0]
      if (run && watch.listCheckpoints(run.id).length > 0) runId = run.id
    }
    expect(runId).toBeGreaterThan(0)
    first.kill('SIGSTOP')
    // Its lease runs out while it is stopped (the minute is skipped, not waited for).
    watch.db.prepare("UPDATE runs SET heartbeat_at = '2001-01-01T00:00:00.000Z' WHERE id = ?").run(runId)
    const frozen = { checkpoints: watch.listCheckpoints(runId).map((c) => c.step) }

    const second = await Engine.open({ dbPath: db, dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
    try {
      expect(second.store.getRun(runId)).toMatchObject({ status: 'failed', error: expect.stringMatching(/interrupted/) })
      second.resumeRun(runId)
      expect(second.store.runOwner(runId)).toBe(second.host.owner)

      first.kill('SIGCONT')
      expect(await exited).toBe(1)
      expect(output).toMatch(/taken over by another process/)
      expect(output).not.toMatch(/\n\s+at /) // no stack trace

      const done = await second.host.waitFor(runId)
      expect(done.status).toBe('finished')
      expect(second.store.readMetrics(runId, { name: 'loss' }).map((p) => p.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
      // the first process added no checkpoint after it was stopped; the second replaced the one it resumed from
      expect(frozen.checkpoints.length).toBeGreaterThan(0)
      expect(second.store.listCheckpoints(runId).map((c) => c.step)).toEqual([60])
      expect(second.store.integrityCheck()).toEqual([])
    } finally {
      if (first.exitCode === null) first.kill('SIGKILL')
      watch.close()
      await second.close()
    }
  }, 240_000)
})
