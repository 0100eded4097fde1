// Streams as entities: named, ordered lists of domains; runs record theirs; what runs used cannot be deleted.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { createApiHandler, type ApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { ExperimentStore, StoreError } from '../../src/main/engine/store/store'
import { DOMAIN_PREVIEW_CHARS, DOMAIN_PREVIEW_DOCUMENTS, type ApiEvent, type DomainDetail } from '../../src/shared/contract'
import { BUILTIN_STREAM_NAME, ensureDefaultDomains } from '../../src/main/engine/training/data'
import { DEFAULT_DOMAINS } from '../../src/main/engine/data'
import type { RunConfigInput } from '../../src/shared/run-config'
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

describe('domain facts, rename and stream copies (issue 13)', () => {
  it('renames a domain no run trained on (streams and saved experiments follow); refuses built-in and used ones, naming the runs', () => {
    const store = storeWith('press', 'notes', 'other')
    const s = store.createStream({ name: 'mine', domains: ['press', 'notes'] })
    const saved = store.saveExperiment({ name: 'design', config: config('design', ['notes', 'press']) as RunConfigInput })
    expect(store.renameDomain('notes', 'memos')).toMatchObject({ domain: { name: 'memos' }, savedChanged: 1 })
    expect(store.getStream(s.id).domains).toEqual(['press', 'memos'])
    expect(store.getSavedExperiment(saved.id).config.stages.map((st) => st.domain)).toEqual(['memos', 'press'])
    expect(refusal(() => store.renameDomain('memos', 'other'))).toMatchObject({ code: 'conflict', message: 'domain "other" already exists; choose another name' })
    expect(refusal(() => store.renameDomain('ghost', 'x'))).toMatchObject({ code: 'not_found', message: 'no domain named "ghost"' })
    expect(refusal(() => store.renameDomain(4242, 'x'))).toMatchObject({ code: 'not_found', message: 'no domain with id 4242' })
    const run = runOf(store, 'r', ['memos'])
    expect(refusal(() => store.renameDomain('memos', 'again'))).toMatchObject({ code: 'conflict', message: expect.stringContaining(`run ${run.id} trained on it`) })
    expect(store.domainRuns('memos')).toEqual([{ id: run.id, name: 'r', status: 'queued' }])
    store.createDomain({ name: 'fiction', files: [], builtin: true })
    expect(refusal(() => store.renameDomain('fiction', 'novels')).message).toContain('built-in')
    expect(
      store
        .listDomains()
        .map((d) => d.name)
        .sort()
    ).toEqual(['fiction', 'memos', 'other', 'press'])
  })

  it('duplicates any stream, the built-in one too, as an editable copy', () => {
    const store = storeWith('press', 'fiction')
    const builtin = store.ensureBuiltinStream('default', ['press', 'fiction'])
    runOf(store, 'b', ['press', 'fiction'], builtin.id)
    const copy = store.duplicateStream(builtin.id, 'my default')
    expect(copy).toMatchObject({ name: 'my default', domains: ['press', 'fiction'], builtin: false, runCount: 0 })
    expect(store.updateStream(copy.id, { domains: ['fiction', 'press'] }).domains).toEqual(['fiction', 'press'])
    expect(refusal(() => store.duplicateStream(builtin.id, 'my default')).code).toBe('conflict')
    expect(refusal(() => store.duplicateStream(999, 'x')).code).toBe('not_found')
  })

  it("domains.get tells a real domain's sizes, splits, preview, runs and streams; rename keeps its token cache", async () => {
    const engine = await tempEngine()
    try {
      const handle = createApiHandler(engine, 'browser')
      // names unique to this test run: the session's data directory (and its token cache) outlives a run
      const tag = Math.random().toString(36).slice(2, 8)
      const [before, after_] = [`facts-notes-${tag}`, `facts-memos-${tag}`]
      const corpus = tempDir()
      for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(corpus, `n${i}.txt`), `Note ${i}: the heron waited by the reeds until the water cleared. `.repeat(15))
      await handle('domains.add', { name: before, paths: [corpus] })
      const detail = (await handle('domains.get', { name: before })) as DomainDetail
      expect(detail).toMatchObject({ name: before, files: 4, documents: 4, builtin: false, tasks: [], runs: [], streams: [], previewProblem: null })
      expect(detail.source).toEqual({ paths: [corpus], format: 'auto', textField: 'text' })
      expect(detail.preview).toHaveLength(DOMAIN_PREVIEW_DOCUMENTS)
      expect(detail.preview[0]).toMatchObject({ id: 'n0.txt', truncated: true })
      expect(detail.preview[0]!.text).toHaveLength(DOMAIN_PREVIEW_CHARS)
      const splits = detail.splits!
      expect(splits.train.documents + splits.validation.documents + splits.test.documents).toBe(4)
      expect(splits.train.tokens + splits.validation.tokens + splits.test.tokens).toBe(detail.tokens)

      const renamed = (await handle('domains.rename', { name: before, newName: after_ })) as { id: number; name: string }
      expect(renamed).toMatchObject({ id: detail.id, name: after_ })
      const after = (await handle('domains.get', { id: detail.id })) as DomainDetail
      expect(after.splits).toEqual(detail.splits) // the cache moved with the name: nothing to tokenize again
      expect((await rejection(handle('domains.rename', { name: after_, newName: 'has space' }))).message).toMatch(/^domains\.rename: newName: /)

      const builtin = (await handle('domains.get', { name: 'press' })) as DomainDetail
      expect(builtin).toMatchObject({ builtin: true, source: null, tasks: ['press-genre', 'press-pos'], streams: [expect.objectContaining({ name: BUILTIN_STREAM_NAME })] })
      expect(builtin.splits!.validation.documents).toBeGreaterThan(0)
      const sum = (k: 'documents' | 'tokens') => builtin.splits!.train[k] + builtin.splits!.validation[k] + builtin.splits!.test[k]
      expect([builtin.documents, builtin.tokens]).toEqual([sum('documents'), sum('tokens')])
      expect(builtin.preview.length).toBeGreaterThan(0)
      expect(await rejection(handle('domains.get', { name: 'nope' }))).toMatchObject({ code: 'not_found', message: 'no domain named "nope"' })
      const dup = (await handle('streams.duplicate', { id: engine.store.listStreams().find((st) => st.builtin)!.id, name: 'copy of default' })) as { builtin: boolean }
      expect(dup.builtin).toBe(false)
    } finally {
      await engine.close()
    }
  })
})

describe('deleting an uploaded domain', () => {
  it('removes its staged upload folder with it; a corpus elsewhere stays where it is', async () => {
    const engine = await tempEngine()
    try {
      const handle = createApiHandler(engine, 'browser')
      const tag = Math.random().toString(36).slice(2, 8)
      const staged = path.join(engine.dataDir, 'uploads', `test-${tag}`)
      const elsewhere = tempDir()
      for (const dir of [path.join(staged, 'notes'), elsewhere]) {
        fs.mkdirSync(dir, { recursive: true })
        for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, `n${i}.txt`), `Note ${i} ${tag}: the heron waited by the reeds until the water cleared. `.repeat(15))
      }
      await handle('domains.add', { name: `up-${tag}`, paths: [staged] })
      await handle('domains.add', { name: `local-${tag}`, paths: [elsewhere] })
      await handle('domains.delete', { name: `up-${tag}` })
      expect(fs.existsSync(staged)).toBe(false)
      await handle('domains.delete', { name: `local-${tag}` })
      expect(fs.readdirSync(elsewhere)).toHaveLength(4)
    } finally {
      await engine.close()
    }
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
