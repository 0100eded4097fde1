// Streams as entities: named, ordered lists of domains; runs record theirs; what runs used cannot be deleted.
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { createApiHandler, type ApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { ExperimentStore, StoreError } from '../../src/main/engine/store/store'
import type { ApiEvent } from '../../src/shared/contract'
import { BUILTIN_STREAM_NAME, ensureDefaultDomains } from '../../src/main/engine/training/data'
import { DEFAULT_DOMAINS } from '../../src/main/engine/data'
import { rejection } from '../helpers/api'
import { tempEngine } from '../helpers/engine'
import { tempDir } from '../helpers/tmp'
import { config } from './compare/fixtures'

const opened: ExperimentStore[] = []
afterEach(() => {
  for (const s of opened.splice(0)) {
    expect(s.integrityCheck()).toEqual([])
    s.close()
  }
})
function storeWith(...domains: string[]): ExperimentStore {
  const store = ExperimentStore.open(path.join(tempDir(), 'streams.sqlite'))
  opened.push(store)
  for (const name of domains) store.createDomain({ name, files: [] })
  return store
}
function refusal(fn: () => unknown): StoreError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError)
    return error as StoreError
  }
  throw new Error('expected a StoreError')
}
const runOf = (store: ExperimentStore, name: string, domains: string[], streamId: number | null = null) =>
  store.createRun(store.ensureExperiment(name, config(name, domains)).id, { streamId })

describe('streams in the store', () => {
  it('creates, lists, renames and reorders a stream, refusing bad input and changing nothing then', () => {
    const store = storeWith('press', 'fiction', 'email')
    const s = store.createStream({ name: 'news first', domains: ['press', 'fiction'] })
    expect(store.listStreams()).toEqual([{ id: s.id, name: 'news first', domains: ['press', 'fiction'], builtin: false, runCount: 0, createdAt: expect.any(String) }])
    expect(store.updateStream(s.id, { name: 'renamed', domains: ['fiction', 'email', 'press'] })).toMatchObject({ name: 'renamed', domains: ['fiction', 'email', 'press'] })

    expect(refusal(() => store.createStream({ name: 'x', domains: ['press', 'nope'] }))).toMatchObject({ code: 'invalid', message: 'domains.1: unknown domain "nope"' })
    expect(refusal(() => store.createStream({ name: 'x', domains: ['press', 'press'] })).message).toContain('listed twice')
    expect(refusal(() => store.createStream({ name: 'renamed', domains: ['press'] }))).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('"renamed" already exists')
    })
    const other = store.createStream({ name: 'other', domains: ['email'] })
    expect(refusal(() => store.updateStream(other.id, { name: 'renamed' })).code).toBe('conflict')
    expect(refusal(() => store.updateStream(s.id, { domains: ['ghost'] })).code).toBe('invalid')
    expect(refusal(() => store.updateStream(999, { name: 'y' }))).toMatchObject({ code: 'not_found', message: 'no stream with id 999' })
    expect(refusal(() => store.deleteStream(999)).code).toBe('not_found')
    expect(store.getStream(s.id)).toMatchObject({ name: 'renamed', domains: ['fiction', 'email', 'press'] })
    expect(store.getStream(other.id).domains).toEqual(['email'])

    store.deleteStream(other.id)
    expect(store.listStreams().map((x) => x.name)).toEqual(['renamed'])
  })

  it('refuses to delete a stream or a domain that runs used, naming the runs; the built-in stream is read-only', () => {
    const store = storeWith('press', 'fiction', 'email', 'spare')
    const s = store.createStream({ name: 'mine', domains: ['press', 'fiction'] })
    const a = runOf(store, 'a', ['press', 'fiction'], s.id)
    const b = runOf(store, 'b', ['press', 'fiction'], s.id)
    expect(store.getRun(a.id).streamId).toBe(s.id)
    expect(store.getStream(s.id).runCount).toBe(2)
    expect(refusal(() => store.deleteStream(s.id))).toMatchObject({ code: 'conflict', message: `stream "mine" cannot be deleted: runs ${a.id}, ${b.id} ran on it` })
    expect(refusal(() => store.updateStream(s.id, { domains: ['fiction', 'press'] })).message).toContain(`runs ${a.id}, ${b.id} ran on it`)
    expect(store.updateStream(s.id, { name: 'kept' }).name).toBe('kept') // a rename keeps what the runs recorded
    // a domain a run trained on (its config's stages), recorded stream or not
    const c = runOf(store, 'c', ['email'])
    expect(refusal(() => store.deleteDomain('email'))).toMatchObject({ code: 'conflict', message: `domain "email" cannot be deleted: run ${c.id} trained on it` })
    expect(refusal(() => store.deleteDomain('press')).message).toContain(`runs ${a.id}, ${b.id} trained on it`)
    store.createStream({ name: 'with spare', domains: ['spare'] })
    expect(refusal(() => store.deleteDomain('spare')).message).toContain('part of stream "with spare"')
    expect(refusal(() => store.deleteDomain('ghost')).code).toBe('not_found')
    expect(
      store
        .listDomains()
        .map((d) => d.name)
        .sort()
    ).toEqual(['email', 'fiction', 'press', 'spare'])

    const builtin = store.ensureBuiltinStream('default', ['press', 'fiction', 'email'])
    expect(builtin).toMatchObject({ builtin: true, name: 'default', domains: ['press', 'fiction', 'email'] })
    expect(store.ensureBuiltinStream('default', ['press']).id).toBe(builtin.id) // once
    expect(refusal(() => store.updateStream(builtin.id, { name: 'mine now' }))).toMatchObject({ code: 'conflict', message: expect.stringContaining('create a copy') })
    expect(refusal(() => store.deleteStream(builtin.id)).code).toBe('conflict')
    expect(store.listStreams()[0]!.id).toBe(builtin.id)
  })

  it('records the built-in stream on earlier runs of exactly its domains when it is registered', () => {
    const store = storeWith('press', 'fiction')
    const match = runOf(store, 'match', ['press', 'fiction'])
    const partial = runOf(store, 'partial', ['press'])
    const builtin = store.ensureBuiltinStream('default', ['press', 'fiction'])
    expect(store.getRun(match.id).streamId).toBe(builtin.id)
    expect(store.getRun(partial.id).streamId).toBeNull()
    expect(store.matchStream(['press', 'fiction'])?.id).toBe(builtin.id)
    expect(store.matchStream(['fiction', 'press'])).toBeNull()
  })
})

describe('streams through the API', () => {
  let engine: Engine
  let handle: ApiHandler
  const events: ApiEvent[] = []
  beforeAll(async () => {
    engine = await tempEngine()
    handle = createApiHandler(engine, 'browser')
    engine.events.subscribe((e) => events.push(e))
    engine.store.createDomain({ name: 'mine', files: [] })
  })
  afterAll(() => engine?.close())

  it('answers not_found, bad_request and conflict with the field or the runs named', async () => {
    const created = (await handle('streams.create', { name: 's1', domains: ['mine'] })) as { id: number }
    expect(events.some((e) => e.type === 'streams.changed')).toBe(true)
    expect(await handle('streams.list', {})).toEqual({ streams: expect.arrayContaining([expect.objectContaining({ id: created.id, name: 's1', domains: ['mine'] })]) })
    expect(await rejection(handle('streams.update', { id: 4242, name: 'x' }))).toMatchObject({ code: 'not_found', message: 'no stream with id 4242' })
    expect(await rejection(handle('streams.delete', { id: 4242 }))).toMatchObject({ code: 'not_found' })
    expect(await rejection(handle('streams.create', { name: 's2', domains: ['mine', 'nope'] }))).toMatchObject({ code: 'bad_request', message: 'domains.1: unknown domain "nope"' })
    expect(await rejection(handle('streams.create', { name: 's1', domains: ['mine'] }))).toMatchObject({ code: 'conflict' })
    expect((await rejection(handle('streams.create', { name: '', domains: ['mine'] }))).message).toMatch(/^streams\.create: name: /)
    expect((await rejection(handle('streams.create', { name: 'x', domains: [] }))).message).toMatch(/^streams\.create: domains: /)
    expect(await rejection(handle('domains.delete', { id: 4242 }))).toMatchObject({ code: 'not_found' })
    expect(await rejection(handle('domains.delete', { name: 'mine' }))).toMatchObject({ code: 'conflict', message: expect.stringContaining('part of stream "s1"') })

    // runs.start names the stream field: an unknown stream, or one the config's stages do not follow
    expect(await rejection(handle('runs.start', { config: config('x', ['mine']), stream: 'nope' }))).toMatchObject({ code: 'not_found', message: 'stream: no stream named "nope"' })
    const mismatch = await rejection(handle('runs.start', { config: config('x', ['mine', 'mine']), stream: created.id }))
    expect(mismatch).toMatchObject({ code: 'bad_request', message: expect.stringContaining('stages.1.domain is absent') })
    expect(engine.store.listRuns()).toEqual([])

    await handle('streams.delete', { id: created.id })
    await handle('domains.delete', { name: 'mine' })
    expect(engine.store.findDomain('mine')).toBeNull()
  })

  it('records on a run the stream its stages follow: the one named, else the matching one, else none', async () => {
    for (const name of ['press', 'fiction']) engine.store.createDomain({ name: `${name}`, files: [] })
    const pair = (await handle('streams.create', { name: 'pair', domains: ['press', 'fiction'] })) as { id: number }
    const started: Array<{ id: number; streamId: number | null }> = []
    const start = async (params: Record<string, unknown>) => {
      const run = (await handle('runs.start', params)) as { id: number; streamId: number | null }
      engine.cancelRun(run.id) // only what was recorded matters here, not the training
      await engine.host.waitFor(run.id)
      started.push(run)
      return run
    }
    expect((await start({ config: config('matched', ['press', 'fiction']) })).streamId).toBe(pair.id)
    expect((await start({ config: config('named', ['press', 'fiction']), stream: 'pair', fresh: true })).streamId).toBe(pair.id)
    expect((await start({ config: config('none', ['fiction', 'press']) })).streamId).toBeNull()
    expect(started.map((r) => engine.store.getRun(r.id).streamId)).toEqual([pair.id, pair.id, null])
    expect(await rejection(handle('streams.delete', { id: pair.id }))).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining(`runs ${started[0]!.id}, ${started[1]!.id} ran on it`)
    })
    expect(events.some((e) => e.type === 'domains.changed')).toBe(true)
  })
})

describe('the built-in stream', () => {
  it('is registered with the default domains, read-only, in stream order', async () => {
    const store = ExperimentStore.open(path.join(tempDir(), 'builtin.sqlite'))
    opened.push(store)
    await ensureDefaultDomains(store, inject('dataDir'))
    expect(store.listStreams()).toEqual([expect.objectContaining({ name: BUILTIN_STREAM_NAME, builtin: true, domains: [...DEFAULT_DOMAINS] })])
    await ensureDefaultDomains(store, inject('dataDir')) // again: still one
    expect(store.listStreams()).toHaveLength(1)
  })
})
