import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RunSummary, SystemInfo } from '../../src/shared/contract'
import { createApiHandler, type ApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { rejection } from '../helpers/api'
import { tempEngine } from '../helpers/engine'
import { tempDir } from '../helpers/tmp'

let engine: Engine
let handle: ApiHandler

beforeAll(async () => {
  engine = await tempEngine()
  handle = createApiHandler(engine, 'browser')
})
afterAll(() => engine.close())

describe('API handler', () => {
  it('reports backend, store and mode', async () => {
    const info = SystemInfo.parse(await handle('system.info', {}))
    expect(info.store.path).toBe(engine.store.path)
    expect(info.mode).toBe('browser')
    expect(info.backend.active).toBe(engine.backend.active)
  })

  it('lists and fetches runs created through the engine', async () => {
    const run = engine.createRun('listed', { n: 1 })
    const { runs } = (await handle('runs.list', {})) as { runs: RunSummary[] }
    expect(runs.map((r) => r.id)).toContain(run.id)
    const filtered = (await handle('runs.list', { status: 'finished' })) as { runs: RunSummary[] }
    expect(filtered.runs).toEqual([])
    expect(await handle('runs.get', { id: run.id })).toEqual(expect.objectContaining({ id: run.id, stages: [], metricCount: 0 }))
  })

  it('rejects malformed requests with a message naming the field', async () => {
    expect((await rejection(handle('runs.get', { id: 'seven' }))).message).toMatch(/^runs\.get: id: /)
    expect((await rejection(handle('runs.get', {}))).code).toBe('bad_request')
    expect((await rejection(handle('runs.list', { status: 'exploded' }))).message).toContain('status')
    expect((await rejection(handle('runs.list', { limit: 5, extra: true }))).message).toContain('extra')
    expect((await rejection(handle('runs.drop', {}))).message).toContain('unknown method "runs.drop"')
    expect((await rejection(handle(42, {}))).code).toBe('bad_request')
  })

  it('adds a corpus as a domain through the API, and refuses bad corpora naming the file', async () => {
    const dir = tempDir()
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, `note${i}.txt`), `Field note ${i}: the heron waited by the reeds until the water cleared. `.repeat(15))
    const added = (await handle('domains.add', { name: 'field-notes', paths: [dir] })) as { name: string; promptSlot: number; documents: number }
    expect(added).toMatchObject({ name: 'field-notes', documents: 4 })
    expect(added.promptSlot).toBeGreaterThanOrEqual(6) // after the built-in stream's six
    const { domains } = (await handle('domains.list', {})) as { domains: Array<{ name: string }> }
    expect(domains.map((d) => d.name)).toContain('field-notes')

    const empty = path.join(dir, 'empty.txt')
    fs.writeFileSync(empty, '')
    const refused = await rejection(handle('domains.add', { name: 'broken', paths: [empty] }))
    expect(refused.code).toBe('bad_request')
    expect(refused.message).toContain('empty.txt')
    expect((await rejection(handle('domains.add', { name: 'field-notes', paths: [dir] }))).message).toMatch(/already exists/)
    expect((await rejection(handle('domains.add', { name: 'x', paths: [] }))).message).toMatch(/^domains\.add: paths/)
  })

  it('maps a missing record to not_found', async () => {
    const error = await rejection(handle('runs.get', { id: 987654 }))
    expect(error.code).toBe('not_found')
    expect(error.message).toContain('987654')
  })

  it('publishes run.updated on every status change', async () => {
    const seen: string[] = []
    const stop = engine.events.subscribe((e) => {
      if (e.type === 'run.updated') seen.push(`${e.run.id}:${e.run.status}`)
    })
    const run = engine.createRun('evented', { n: 2 })
    engine.setRunStatus(run.id, 'running')
    engine.setRunStatus(run.id, 'finished')
    stop()
    expect(seen).toEqual([`${run.id}:queued`, `${run.id}:running`, `${run.id}:finished`])
  })
})

describe('a store another process holds locked', () => {
  it('answers "unavailable" naming the lock, and nothing is stored', async () => {
    const Database = (await import('better-sqlite3')).default
    // a short busy_timeout so the lock outlasts it at once (the default waits 5 s)
    engine.store.db.pragma('busy_timeout = 50')
    const other = new Database(engine.store.path)
    const before = engine.store.listExperiments().length
    other.prepare('BEGIN IMMEDIATE').run()
    try {
      const error = await rejection(
        handle('runs.start', { config: { name: 'locked-out', model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 }, stages: [{ domain: 'press', steps: 5 }] } })
      )
      expect(error.code).toBe('unavailable')
      expect(error.message).toMatch(/^the experiment store is locked by another process .*nothing was changed/)
    } finally {
      other.prepare('ROLLBACK').run()
      other.close()
      engine.store.db.pragma('busy_timeout = 5000')
    }
    expect(engine.store.listExperiments()).toHaveLength(before)
  })
})
