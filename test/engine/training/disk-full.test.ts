// A full disk under the store and the run's checkpoints: the run stops as failed (resumable) with "disk
// full" in one line instead of a stack trace and a run left running, and resumes once space is freed.
// The store and the checkpoints live on a small tmpfs (mounting needs root; skipped with the reason else).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Engine } from '../../../src/main/engine/engine'
import { tempDir } from '../../helpers/tmp'

const root = tempDir()
const mnt = path.join(root, 'small-disk')
fs.mkdirSync(mnt)
const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt], { encoding: 'utf8' })
const cannotMount = mount.status === 0 ? null : `mounting a tmpfs is not permitted here (${(mount.stderr || mount.error?.message || '').trim()})`
if (cannotMount) console.warn(`disk-full test skipped: ${cannotMount}`)

let engine: Engine
const filler = path.join(mnt, 'filler')

/** Fill the disk to the last byte (bounded: the tmpfs is 48 MB, written 64 KB at a time). */
function fillDisk(): void {
  const fd = fs.openSync(filler, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (let i = 0; i < 2_000; i++) fs.writeSync(fd, chunk)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  } finally {
    fs.closeSync(fd)
  }
  // the last, partial block too
  try {
    fs.appendFileSync(filler, Buffer.alloc(4096, 1))
    for (let i = 0; i < 64; i++) fs.appendFileSync(filler, Buffer.alloc(512, 1))
  } catch {}
}

describe.skipIf(cannotMount !== null)('a full disk under the store and the checkpoints', () => {
  beforeAll(async () => {
    // the corpora stay where the session prepared them; the run folders and the store go on the small disk
    const dataDir = path.join(root, 'data')
    fs.mkdirSync(dataDir)
    fs.symlinkSync(path.join(inject('dataDir'), 'default-stream'), path.join(dataDir, 'default-stream'))
    fs.mkdirSync(path.join(mnt, 'runs'))
    fs.symlinkSync(path.join(mnt, 'runs'), path.join(dataDir, 'runs'))
    engine = await Engine.open({ dbPath: path.join(mnt, 'store.sqlite'), dataDir, backend: { flag: 'wasm' } })
  })
  afterAll(async () => {
    await engine?.close()
    spawnSync('umount', [mnt])
  })

  it('fails the run with "disk full" in one line, then resumes it to the end once space is freed', async () => {
    const run = engine.startRun({
      name: 'disk-full',
      model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
      training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 16, checkpointEvery: 10 },
      stages: [{ domain: 'press', steps: 60 }]
    })
    await new Promise<void>((resolve) => {
      const stop = engine.events.subscribe((e) => {
        if (e.type === 'run.progress' && e.progress.runId === run.id && e.progress.step >= 12) {
          stop()
          resolve()
        }
      })
    })
    fillDisk()
    const failed = await engine.host.waitFor(run.id)
    expect(failed.status).toBe('failed')
    expect(engine.store.getRun(run.id).status).toBe('failed') // recorded, not left running
    expect(failed.error).toMatch(/^disk full: could not write the experiment store .*store\.sqlite; free some space, then resume the run with "elle run --resume \d+"/)
    expect(failed.error).not.toMatch(/\n|\bat [\w.]+ \(/) // one line, no stack
    expect(engine.store.listCheckpoints(run.id).at(-1)!.step).toBeGreaterThanOrEqual(10)

    fs.rmSync(filler)
    engine.resumeRun(run.id)
    const done = await engine.host.waitFor(run.id)
    expect(done.status).toBe('finished')
    expect(engine.store.readMetrics(run.id, { name: 'loss' }).map((p) => p.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
    expect(engine.store.listCheckpoints(run.id).map((c) => c.step)).toEqual([60])
    expect(engine.store.integrityCheck()).toEqual([])
  })
})
