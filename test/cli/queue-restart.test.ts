// The queue survives kill -9 of the process running it (issue 14): `elle worker` holds three entries, one
// running; after SIGKILL and a new `elle worker`, the order is intact, the running run resumes from its
// checkpoint (its steps each recorded once), nothing runs twice, and the store passes integrity_check.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { tempDir } from '../helpers/tmp'
import { elleInProcess } from './in-process'

const BIN = path.resolve('bin/elle.mjs')

const elle = elleInProcess

function worker(db: string): { child: ChildProcess; output: () => string } {
  let output = ''
  const child = spawn(process.execPath, [BIN, 'worker', '--db', db], {
    env: { ...process.env, ELLE_BACKEND: 'wasm', ELLE_DATA_DIR: inject('dataDir') },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  return { child, output: () => output }
}

async function until(what: string, test: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now()
  while (!test()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('the queue across kill -9', () => {
  it('keeps the order, resumes the running run from its checkpoint and runs nothing twice', async () => {
    const dir = tempDir()
    const db = path.join(dir, 'queue.sqlite')
    const file = (name: string, steps: number): string => {
      const f = path.join(dir, `${name}.json`)
      fs.writeFileSync(
        f,
        JSON.stringify({
          name,
          model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
          training: { seqLen: 32, batchSize: 8, validateEvery: 10, validationSequences: 8, checkpointEvery: 10 },
          stages: [{ domain: 'press', steps }]
        })
      )
      return f
    }
    for (const [name, steps] of [
      ['first', 60],
      ['second', 10],
      ['third', 10]
    ] as const) {
      const added = await elle('queue', 'add', file(name, steps), '--db', db)
      expect(added.code, added.err).toBe(0)
    }
    expect((await elle('queue', 'move', '3', '1', '--db', db)).code).toBe(0) // third before second
    const listed = await elle('queue', '--db', db, '--json')
    const ids = (JSON.parse(listed.out) as { entries: Array<{ runId: number; configName: string }> }).entries.map((e) => e.configName)
    expect(ids).toEqual(['first', 'third', 'second'])

    const store = ExperimentStore.open(db)
    const one = worker(db)
    await until('a checkpoint of the first run', () => store.listCheckpoints(1).some((c) => c.step >= 20), 120_000)
    one.child.kill('SIGKILL')
    await new Promise((r) => one.child.once('exit', r))
    expect(store.getRun(1).status).toBe('running') // nobody could record the kill
    expect([store.getRun(2).status, store.getRun(3).status]).toEqual(['queued', 'queued'])
    const killedAt = store.listCheckpoints(1).at(-1)!.step

    const two = worker(db)
    await until('every run to finish', () => [1, 2, 3].every((id) => store.getRun(id).status === 'finished'), 180_000)
    two.child.kill('SIGTERM')
    expect(await new Promise((r) => two.child.once('exit', r))).toBe(0)

    // resumed from its checkpoint: each step's loss once, the ones before the kill written by the first worker
    expect(
      store
        .readMetrics(1, { name: 'loss' })
        .map((p) => p.step)
        .join(',')
    ).toBe(Array.from({ length: 60 }, (_, i) => i + 1).join(','))
    // the second worker went on from the checkpoint, not from step 1
    const firstStep = Number(/run 1 step (\d+)\//.exec(two.output())?.[1])
    expect(firstStep).toBeGreaterThan(killedAt)
    expect(firstStep).toBeLessThanOrEqual(killedAt + 10)
    // in queue order, each started once (one "running" line per run in the second worker's output)
    const started = [1, 2, 3].map((id) => store.getRun(id).startedAt!)
    expect(Date.parse(started[2]!)).toBeLessThan(Date.parse(started[1]!)) // third before second
    for (const id of [2, 3]) expect(two.output().match(new RegExp(`run ${id} \\(\\w+\\) running`, 'g'))).toHaveLength(1)
    expect(one.output()).not.toMatch(/run [23] \(\w+\) running/)
    expect(store.integrityCheck()).toEqual([])
    store.close()
  }, 330_000)
})
