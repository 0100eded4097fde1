// Files that are not ours: another application's database is refused byte for byte, an unmarked store of
// an earlier version is recognised by its schema and marked, and a read-only open never writes.
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { LATEST_SCHEMA_VERSION } from '../../../src/main/engine/store/migrations'
import { ELLE_APPLICATION_ID } from '../../../src/main/engine/store/open'
import { ExperimentStore, StoreError } from '../../../src/main/engine/store/store'
import { sha256File, tempDir } from '../../helpers/tmp'

function storeError(fn: () => unknown): StoreError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError)
    return error as StoreError
  }
  throw new Error('expected a StoreError')
}

/** What SQLite says about a file, read without changing it. */
function header(file: string): { journalMode: string; userVersion: number; applicationId: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return {
      journalMode: db.pragma('journal_mode', { simple: true }) as string,
      userVersion: db.pragma('user_version', { simple: true }) as number,
      applicationId: db.pragma('application_id', { simple: true }) as number
    }
  } finally {
    db.close()
  }
}

function otherAppDatabase(file: string, setup: string): void {
  const db = new Database(file)
  db.exec(setup)
  db.close()
}

/** An ELLE store as an earlier version left it: the given schema, no application_id. */
function unmarkedStore(file: string, version: number, extra?: (db: Database.Database) => void): void {
  const store = ExperimentStore.open(file, { targetVersion: version })
  store.ensureExperiment('from before the mark', { a: 1 })
  store.close()
  const db = new Database(file)
  db.pragma('application_id = 0')
  extra?.(db)
  db.close()
}

describe('databases of other applications', () => {
  const cases: Array<[string, string, string]> = [
    ['user tables and no schema version', "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me');", 'it holds notes'],
    ['their own application_id', `CREATE TABLE runs (id INTEGER PRIMARY KEY); PRAGMA application_id = ${0x6d73636d}; PRAGMA user_version = 2;`, 'application_id 0x6d73636d'],
    ['a schema version of their own', 'CREATE TABLE photos (id INTEGER PRIMARY KEY); PRAGMA user_version = 3;', "without ELLE's tables"],
    [
      'a schema version above ours',
      `CREATE TABLE photos (id INTEGER PRIMARY KEY); PRAGMA user_version = ${LATEST_SCHEMA_VERSION + 40};`,
      `schema version ${LATEST_SCHEMA_VERSION + 40}`
    ]
  ]
  for (const [what, setup, why] of cases) {
    it(`refuses one with ${what}, changing no byte and not its journal mode`, () => {
      const file = path.join(tempDir(), 'other-app.sqlite')
      otherAppDatabase(file, setup)
      const before = sha256File(file)
      for (const readonly of [false, true]) {
        const error = storeError(() => ExperimentStore.open(file, { readonly }))
        expect(error.code).toBe('foreign')
        expect(error.message).toContain(`${file} is not an ELLE store`)
        expect(error.message).toContain(why)
      }
      expect(sha256File(file)).toBe(before)
      expect(fs.existsSync(`${file}-wal`)).toBe(false)
      expect(fs.existsSync(`${file}-journal`)).toBe(false)
      expect(header(file).journalMode).toBe('delete')
    })
  }

  it('initialises an empty SQLite database as a new, marked store', () => {
    const file = path.join(tempDir(), 'empty.sqlite')
    otherAppDatabase(file, 'PRAGMA page_size = 8192; VACUUM;')
    expect(fs.statSync(file).size).toBeGreaterThan(0)
    const store = ExperimentStore.open(file)
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    store.close()
    expect(header(file)).toMatchObject({ journalMode: 'wal', applicationId: ELLE_APPLICATION_ID })
  })

  it('marks a new store with the ELLE application_id', () => {
    const file = path.join(tempDir(), 'new.sqlite')
    ExperimentStore.open(file).close()
    expect(header(file)).toEqual({ journalMode: 'wal', userVersion: LATEST_SCHEMA_VERSION, applicationId: ELLE_APPLICATION_ID })
  })
})

describe('stores of earlier versions (no application_id)', () => {
  for (const version of [1, LATEST_SCHEMA_VERSION]) {
    it(`recognises one at schema ${version} by its tables, and marks it while migrating`, () => {
      const file = path.join(tempDir(), `v${version}.sqlite`)
      unmarkedStore(file, version)
      expect(header(file).applicationId).toBe(0)
      const store = ExperimentStore.open(file)
      expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
      expect(store.db.prepare('SELECT name FROM experiments').pluck().all()).toEqual(['from before the mark'])
      store.close()
      expect(header(file)).toMatchObject({ userVersion: LATEST_SCHEMA_VERSION, applicationId: ELLE_APPLICATION_ID })
    })
  }

  it('leaves the journal mode, version and mark alone when the migration fails', () => {
    const file = path.join(tempDir(), 'half-migrated.sqlite')
    // a v3 store in rollback-journal mode whose evaluations table already has the column v4 adds
    unmarkedStore(file, 3, (db) => {
      db.pragma('journal_mode = DELETE')
      db.exec('ALTER TABLE evaluations ADD COLUMN settings_json TEXT')
    })
    const before = sha256File(file)
    const error = storeError(() => ExperimentStore.open(file))
    expect(error.code).toBe('migration_failed')
    expect(error.message).toContain(file)
    expect(header(file)).toEqual({ journalMode: 'delete', userVersion: 3, applicationId: 0 })
    expect(sha256File(file)).toBe(before)
  })
})

describe('paths that name no store file', () => {
  it('refuses a path ending with a separator and creates nothing', () => {
    const parent = tempDir()
    const dir = path.join(parent, 'stores')
    for (const readonly of [false, true]) {
      const error = storeError(() => ExperimentStore.open(`${dir}/`, { readonly }))
      expect(error.code).toBe('invalid')
      expect(error.message).toContain(`${dir}/`)
    }
    expect(fs.readdirSync(parent)).toEqual([])
  })
})

describe('read-only opens', () => {
  it('read a current store without writing, and refuse writes', () => {
    const file = path.join(tempDir(), 'current.sqlite')
    const writer = ExperimentStore.open(file)
    const run = writer.createRun(writer.ensureExperiment('listed', { a: 1 }).id)
    writer.close()
    const before = sha256File(file)
    const store = ExperimentStore.open(file, { readonly: true })
    expect(store.listRuns().map((r) => r.id)).toEqual([run.id])
    expect(() => store.createRun(run.id)).toThrow(/readonly/i)
    store.close()
    expect(sha256File(file)).toBe(before)
  })

  it('refuse a store that needs migrating, naming why, and leave it at its version', () => {
    const file = path.join(tempDir(), 'old.sqlite')
    ExperimentStore.open(file, { targetVersion: LATEST_SCHEMA_VERSION - 1 }).close()
    const before = sha256File(file)
    const error = storeError(() => ExperimentStore.open(file, { readonly: true }))
    expect(error.code).toBe('read_only')
    expect(error.message).toContain(`${file} has schema version ${LATEST_SCHEMA_VERSION - 1} and needs migrating`)
    expect(error.message).toContain('writes')
    expect(sha256File(file)).toBe(before)
    expect(header(file).userVersion).toBe(LATEST_SCHEMA_VERSION - 1)
  })

  it('read an unmarked store at the current schema without marking it', () => {
    const file = path.join(tempDir(), 'unmarked.sqlite')
    unmarkedStore(file, LATEST_SCHEMA_VERSION)
    const store = ExperimentStore.open(file, { readonly: true })
    expect(store.listExperiments().map((e) => e.name)).toEqual(['from before the mark'])
    store.close()
    expect(header(file).applicationId).toBe(0)
  })

  it('refuse a missing file and create nothing', () => {
    const dir = tempDir()
    const file = path.join(dir, 'typo.sqlite')
    const error = storeError(() => ExperimentStore.open(file, { readonly: true }))
    expect(error.code).toBe('not_found')
    expect(error.message).toContain(file)
    expect(fs.readdirSync(dir)).toEqual([])
  })
})
