// A checkpoint by folder (checkpointPath) from a workbench client: only inside the engine's data directory,
// links resolved first; the CLI takes any folder. Refused requests store no job.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiHandler } from '../../../src/main/engine/api/handler'
import { Engine } from '../../../src/main/engine/engine'
import { rejection } from '../../helpers/api'
import { tempDir } from '../../helpers/tmp'

let engine: Engine
let dataDir: string
beforeAll(async () => {
  dataDir = tempDir('elle-data-')
  engine = await Engine.open({ dbPath: path.join(tempDir(), 'store.sqlite'), dataDir, backend: {} })
})
afterAll(() => engine?.close())

describe('checkpointPath from the workbench', () => {
  it('is refused outside the data directory (links resolved), with the field and both folders named; nothing is stored', async () => {
    const browser = createApiHandler(engine, 'browser')
    const outside = path.join(tempDir('elle-outside-'), 'ckpt')
    fs.mkdirSync(outside, { recursive: true })
    fs.writeFileSync(path.join(outside, 'config.json'), '{}')
    for (const method of ['checkpoints.evaluate', 'checkpoints.finetune', 'checkpoints.grow', 'checkpoints.export'] as const) {
      const params =
        method === 'checkpoints.evaluate'
          ? { checkpointPath: outside, domain: 'press' }
          : method === 'checkpoints.finetune'
            ? { checkpointPath: outside, task: 'press-genre' }
            : method === 'checkpoints.grow'
              ? { checkpointPath: outside, addLayers: 1, addHeads: 0, mode: 'exact' }
              : { checkpointPath: outside, format: 'hf', outDir: path.join(tempDir(), 'hf') }
      const e = await rejection(browser(method, params))
      expect(e, method).toMatchObject({ code: 'bad_request' })
      expect(e.message).toContain(`checkpointPath: ${outside} is outside the data directory ${fs.realpathSync(dataDir)}`)
    }
    // a link inside the data directory that leads out of it
    const link = path.join(dataDir, 'grown', 'sneaky')
    fs.mkdirSync(path.dirname(link), { recursive: true })
    fs.symlinkSync(outside, link)
    expect((await rejection(browser('checkpoints.evaluate', { checkpointPath: link, domain: 'press' }))).message).toContain('is outside the data directory')
    // the data directory itself is not a checkpoint under it
    expect((await rejection(browser('checkpoints.evaluate', { checkpointPath: dataDir, domain: 'press' }))).message).toContain('is outside the data directory')
    expect(engine.store.listJobs({})).toEqual([])
  })

  it('inside the data directory reaches the folder checks; the CLI takes a folder anywhere', async () => {
    const browser = createApiHandler(engine, 'browser')
    const inside = path.join(dataDir, 'grown', 'not-a-checkpoint')
    fs.mkdirSync(inside, { recursive: true })
    expect(await rejection(browser('checkpoints.evaluate', { checkpointPath: inside, domain: 'press' }))).toMatchObject({
      code: 'bad_request',
      message: `checkpointPath: ${inside} is not a checkpoint folder (it has no config.json)`
    })
    const elsewhere = path.join(tempDir('elle-cli-'), 'none')
    expect(await rejection(createApiHandler(engine, 'cli')('checkpoints.evaluate', { checkpointPath: elsewhere, domain: 'press' }))).toMatchObject({
      code: 'not_found',
      message: `checkpointPath: no checkpoint folder at ${elsewhere}`
    })
  })
})
