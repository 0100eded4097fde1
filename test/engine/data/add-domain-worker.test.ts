// A FIFO or a device added through the engine (the API path: the add runs in a worker thread) is refused
// at once; before, the worker blocked forever reading it, the request never returned and the leaked worker
// kept the process alive. Runs the built worker bundle (node scripts/build.mjs).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createApiHandler } from '../../../src/main/engine/api/handler'
import { Engine } from '../../../src/main/engine/engine'
import { tempDir } from '../../helpers/tmp'

let engine: Engine
beforeAll(async () => {
  engine = await Engine.open({ dbPath: path.join(tempDir(), 'store.sqlite'), dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
})
afterAll(async () => engine.close())

/** The add's outcome, or 'still waiting' after the deadline (the old behaviour with a FIFO). */
async function outcome(paths: string[], deadlineMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting'), deadlineMs)))
  const add = engine.host.addDomain({ name: `special-${path.basename(paths[0] ?? 'x').replace(/\W/g, '-')}`, source: { paths } }).then(
    () => 'added',
    (e: Error) => `${e.name}: ${e.message}`
  )
  try {
    return await Promise.race([add, deadline])
  } finally {
    clearTimeout(timer)
  }
}

describe.runIf(process.platform !== 'win32')('special files through the engine', () => {
  it('a FIFO is refused (no hang), as bad input naming the path', async () => {
    const fifo = path.join(tempDir(), 'pipe.txt')
    execFileSync('mkfifo', [fifo])
    // The deadline is generous because starting the worker (loading the bundle) takes seconds on a busy machine.
    expect(await outcome([fifo], 15_000)).toBe(
      `DomainInputError: corpus path ${fifo} is not a regular file (it is a FIFO (named pipe)); only regular files and folders can be read`
    )
    expect(engine.store.findDomain('special-pipe-txt')).toBeNull()
  })

  it('/dev/zero is refused the same way', async () => {
    expect(await outcome(['/dev/zero'], 15_000)).toBe(
      'DomainInputError: corpus path /dev/zero is not a regular file (it is a character device); only regular files and folders can be read'
    )
  })

  it('the worker is gone afterwards: nothing is left reading', async () => {
    const fifo = path.join(tempDir(), 'pipe2.txt')
    execFileSync('mkfifo', [fifo])
    await outcome([fifo], 15_000)
    // A writer opening the FIFO without blocking fails with ENXIO exactly when no reader has it open.
    expect(() => fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)).toThrow(/ENXIO/)
  })
})

describe('size caps through the API', () => {
  it('domains.add takes per-corpus caps and names the file, its size and the cap', async () => {
    const call = createApiHandler(engine, 'browser')
    const dir = tempDir()
    const file = path.join(dir, 'big.txt')
    fs.writeFileSync(file, 'A sentence of ordinary words. '.repeat(100))
    const before = engine.store.listDomains().length
    await expect(call('domains.add', { name: 'capped', paths: [file], maxFileBytes: 1000 })).rejects.toThrow(
      `corpus file ${file} is 2.9 KiB (3000 bytes), over the per-file limit of 1000 bytes`
    )
    await expect(call('domains.add', { name: 'capped', paths: [file], maxFileBytes: 0 })).rejects.toThrow(/maxFileBytes/)
    expect(engine.store.listDomains()).toHaveLength(before)
  })
})
