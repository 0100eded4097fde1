// A store on read-only media (a tmpfs remounted read-only) is read without writing anything, including
// the WAL index SQLite would normally create beside it; anything that would write is refused by name.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LATEST_SCHEMA_VERSION } from '../../../src/main/engine/store/migrations'
import { ExperimentStore, StoreError } from '../../../src/main/engine/store/store'
import { mountScratch, type ScratchMount } from '../../helpers/readonly-mount'
import { sha256File } from '../../helpers/tmp'

let media: ScratchMount | string
let runId = 0
const files = { current: '', old: '', pendingWal: '' }

beforeAll(() => {
  media = mountScratch()
  if (typeof media === 'string') return
  files.current = path.join(media.dir, 'current.sqlite')
  files.old = path.join(media.dir, 'old.sqlite')
  files.pendingWal = path.join(media.dir, 'pending.sqlite')
  const store = ExperimentStore.open(files.current)
  runId = store.createRun(store.ensureExperiment('on a read-only disk', { a: 1 }).id, { backend: 'wasm' }).id
  store.insertMetrics([{ runId, phase: { kind: 'train', stage: 0, domain: null }, step: 1, tokensSeen: 64, wallS: 0.5, flops: 1e9, name: 'loss', value: 4.2 }])
  store.close() // a clean close: the WAL is checkpointed into the file and removed
  ExperimentStore.open(files.old, { targetVersion: LATEST_SCHEMA_VERSION - 1 }).close()
  // a store copied while a writer had changes only in its -wal (no -shm): what a crash leaves behind
  const writer = ExperimentStore.open(path.join(media.dir, 'writer.sqlite'))
  writer.db.pragma('wal_autocheckpoint = 0')
  writer.ensureExperiment('only in the wal', { b: 2 })
  fs.copyFileSync(writer.path, files.pendingWal)
  fs.copyFileSync(`${writer.path}-wal`, `${files.pendingWal}-wal`)
  writer.close()
  media.seal()
})

afterAll(() => {
  if (typeof media !== 'string') media.unmount()
})

function skipWithout(ctx: { skip: (note?: string) => never }): ScratchMount {
  if (typeof media === 'string') ctx.skip(media)
  return media as ScratchMount
}

function storeError(fn: () => unknown): StoreError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError)
    return error as StoreError
  }
  throw new Error('expected a StoreError')
}

describe('a store on a read-only mount', () => {
  it('is read by a read-only open, with nothing written beside it', (ctx) => {
    const mount = skipWithout(ctx)
    const before = sha256File(files.current)
    const listing = fs.readdirSync(mount.dir).sort()
    const store = ExperimentStore.open(files.current, { readonly: true })
    expect(store.listRuns()).toEqual([expect.objectContaining({ id: runId, experimentName: 'on a read-only disk', backend: 'wasm' })])
    expect(store.readMetrics(runId).map((m) => m.value)).toEqual([4.2])
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    store.close()
    expect(sha256File(files.current)).toBe(before)
    expect(fs.readdirSync(mount.dir).sort()).toEqual(listing)
  })

  it('refuses a writable open, saying the file system is read-only', (ctx) => {
    skipWithout(ctx)
    const error = storeError(() => ExperimentStore.open(files.current))
    expect(error.code).toBe('read_only')
    expect(error.message).toContain(files.current)
    expect(error.message).toContain('read-only file system')
  })

  it('refuses a store that would need migrating', (ctx) => {
    skipWithout(ctx)
    const error = storeError(() => ExperimentStore.open(files.old, { readonly: true }))
    expect(error.code).toBe('read_only')
    expect(error.message).toContain('needs migrating')
  })

  it('refuses rather than miss changes still in a -wal it cannot index', (ctx) => {
    skipWithout(ctx)
    const error = storeError(() => ExperimentStore.open(files.pendingWal, { readonly: true }))
    expect(error.code).toBe('read_only')
    expect(error.message).toContain(`${files.pendingWal}-wal`)
  })
})
