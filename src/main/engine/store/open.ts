// Opening the experiment store safely: every check that could find a problem runs read-only first,
// so a file that is not ours, is corrupt, or comes from a newer version is never modified.
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations'

export type StoreErrorCode = 'unreadable' | 'not_sqlite' | 'corrupt' | 'newer_schema' | 'migration_failed' | 'conflict' | 'not_found' | 'invalid' | 'foreign' | 'read_only'

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string
  ) {
    super(message)
    this.name = 'StoreError'
  }
}

/** SQLite's `application_id` of an ELLE store ("ELLE" in ASCII), set when a store is created or migrated.
 *  Stores made before it existed have 0 and are recognised by their schema instead. */
export const ELLE_APPLICATION_ID = 0x454c4c45

/** Tables an ELLE store has at each schema version: the migrations replayed on an in-memory database,
 *  so the list can never drift from the migrations themselves. */
const expectedTablesCache = new Map<number, readonly string[]>()
export function expectedTables(version: number): readonly string[] {
  let tables = expectedTablesCache.get(version)
  if (!tables) {
    const memory = new Database(':memory:')
    try {
      for (const migration of MIGRATIONS.filter((m) => m.version <= version)) memory.exec(migration.sql)
      tables = memory.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]
    } finally {
      memory.close()
    }
    expectedTablesCache.set(version, tables)
  }
  return tables
}

/** What an existing database turned out to be: an empty one (initialised like a new file), an ELLE store
 *  marked with our application_id, or an ELLE store from before that mark (stamped when it is migrated). */
interface Inspection {
  kind: 'empty' | 'ours' | 'unmarked'
  version: number
}

const hex = (id: number): string => `0x${(id >>> 0).toString(16).padStart(8, '0')}`

/** Decide whether the database is ours, reading only. Anything else is refused, naming the file and why. */
function classify(db: Database.Database, file: string): Inspection {
  const version = db.pragma('user_version', { simple: true }) as number
  const applicationId = db.pragma('application_id', { simple: true }) as number
  const notOurs = (why: string): StoreError => new StoreError('foreign', `${file} is not an ELLE store (${why}); it was left untouched`)
  if (applicationId === ELLE_APPLICATION_ID) {
    if (version > LATEST_SCHEMA_VERSION) {
      throw new StoreError(
        'newer_schema',
        `${file} was written by a newer ELLE Workbench (schema version ${version}; this version understands up to ${LATEST_SCHEMA_VERSION}). Upgrade the workbench; nothing was migrated.`
      )
    }
    return { kind: 'ours', version }
  }
  if (applicationId !== 0) throw notOurs(`it belongs to another application: application_id ${hex(applicationId)}, ELLE's is ${hex(ELLE_APPLICATION_ID)}`)
  const objects = db.prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").pluck().all() as string[]
  const listed = (names: readonly string[]): string => names.slice(0, 5).join(', ') + (names.length > 5 ? `, … ${names.length - 5} more` : '')
  if (version === 0) {
    if (objects.length === 0) return { kind: 'empty', version }
    throw notOurs(`it holds ${listed(objects)}, with no ELLE schema version`)
  }
  // Unmarked: a store from before the application_id, if its schema is one ELLE wrote.
  if (version > LATEST_SCHEMA_VERSION) throw notOurs(`schema version ${version} without ELLE's application_id`)
  const present = new Set(objects)
  const missing = expectedTables(version).filter((table) => !present.has(table))
  if (missing.length > 0) throw notOurs(`schema version ${version} without ELLE's tables ${listed(missing)}`)
  return { kind: 'unmarked', version }
}

/** Header, schema and integrity checks on a read-only connection; SQLite's errors become StoreErrors. */
function inspect(db: Database.Database, file: string): Inspection {
  try {
    const inspection = classify(db, file)
    const problems = db.pragma('quick_check', { simple: false }) as Array<{ quick_check: string }>
    const bad = problems.map((row) => row.quick_check).filter((message) => message !== 'ok')
    if (bad.length > 0) throw new StoreError('corrupt', `${file} is corrupt (${bad.slice(0, 3).join('; ')}); it was left untouched`)
    return inspection
  } catch (error) {
    throw asStoreError(error, file)
  }
}

function asStoreError(error: unknown, file: string): StoreError {
  if (error instanceof StoreError) return error
  const code = (error as { code?: string }).code ?? ''
  if (code === 'SQLITE_NOTADB') return new StoreError('not_sqlite', `${file} is not an SQLite database (wrong file header); it was left untouched`)
  if (code.startsWith('SQLITE_CORRUPT')) return new StoreError('corrupt', `${file} is corrupt (${(error as Error).message}); it was left untouched`)
  return new StoreError('unreadable', `cannot read store ${file}: ${(error as Error).message}`)
}

/** Refuse a path that is a folder or cannot be read, before SQLite sees it. Never through a file descriptor
 *  of our own: closing any descriptor of a file drops every POSIX lock this process holds on it, including
 *  the SHARED lock of a store connection already open here (the engine's, while a run worker opens the same
 *  store). Another process (an older sqlite3 shell) could then believe it is the last connection and delete
 *  the WAL under us. SQLite's own read-only open checks the header instead (SQLITE_NOTADB).
 *  Returns the file's size, or null when there is no file. */
function statStoreFile(file: string): number | null {
  try {
    const stat = fs.statSync(file)
    if (stat.isDirectory()) throw new StoreError('unreadable', `cannot open store ${file}: it is a directory, not a database file`)
    fs.accessSync(file, fs.constants.R_OK)
    return stat.size
  } catch (error) {
    if (error instanceof StoreError) throw error
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new StoreError('unreadable', `cannot read store ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
}

/**
 * A read-only connection. A WAL database needs its -shm index, which a read-only connection creates next
 * to the file; on a read-only mount, or in a folder this user cannot write, it cannot, and the first read
 * fails with SQLITE_CANTOPEN. Then the store is read from an in-memory copy: a WAL file that was closed
 * cleanly holds all its data in the main file (with no -wal beside it, nobody can be writing it, as a writer
 * could not create one either). Un-checkpointed changes in a -wal would be missed, so that case is refused.
 * (`immutable=1` would be SQLite's way, but better-sqlite3 is built without URI filenames.)
 */
function connectReadonly(file: string): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    db.pragma('user_version', { simple: true }) // the first read, where SQLite opens the WAL index
    return db
  } catch (error) {
    db.close()
    if ((error as { code?: string }).code !== 'SQLITE_CANTOPEN') throw error
    return readonlySnapshot(file, error)
  }
}

function readonlySnapshot(file: string, cause: unknown): Database.Database {
  const wal = `${file}-wal`
  if ((statStoreFile(wal) ?? 0) > 0) {
    throw new StoreError(
      'read_only',
      `cannot read store ${file}: its folder is read-only and ${wal} holds changes not yet written into it; open it once where its folder is writable`
    )
  }
  // Our own descriptor is safe here: with the index uncreatable, no connection of this process holds the file.
  const image = fs.readFileSync(file)
  if (image.length < 100 || image[18] !== 2 || image[19] !== 2) throw cause // not a WAL database: a different problem
  image[18] = 1 // an in-memory copy has no WAL: mark the copy as a rollback-journal database
  image[19] = 1
  return new Database(image, { readonly: true })
}

/** A connection that writes needs the file and its folder (for the -wal and -shm) writable. */
function checkWritable(file: string, exists: boolean): void {
  for (const target of exists ? [file, path.dirname(file)] : [path.dirname(file)]) {
    try {
      fs.accessSync(target, fs.constants.W_OK)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error)
      const where = code === 'EROFS' ? 'it is on a read-only file system' : `${target === file ? 'the file' : `its folder ${target}`} is not writable`
      throw new StoreError('read_only', `cannot write store ${file}: ${where} (${code}); it can only be opened read-only`)
    }
  }
}

export interface OpenOptions {
  /** Stop migrating at this version (tests use it to build a database "from the previous version"). */
  targetVersion?: number
  /** Read only: no migration, no journal-mode switch, works on read-only media. A store whose schema is
   *  older than this version's is refused (it needs one writable open to migrate). */
  readonly?: boolean
}

export function openDatabase(file: string, options: OpenOptions = {}): Database.Database {
  // path.resolve would drop the separator and turn "dir/" into a file named "dir"
  if (/[\\/]$/.test(file)) throw new StoreError('invalid', `cannot open store ${file}: the path ends with a separator, so it names a folder, not a store file`)
  const resolved = path.resolve(file)
  return options.readonly ? openReadonly(resolved) : openWritable(resolved, options.targetVersion ?? LATEST_SCHEMA_VERSION)
}

function openReadonly(file: string): Database.Database {
  const size = statStoreFile(file)
  if (size === null) throw new StoreError('not_found', `no store at ${file}: the file does not exist`)
  if (size === 0) throw new StoreError('read_only', `${file} is an empty file, not yet an ELLE store; it needs a writable open to become one`)
  let db: Database.Database | undefined
  try {
    db = connectReadonly(file)
    const { kind, version } = inspect(db, file)
    if (kind === 'empty') throw new StoreError('read_only', `${file} is an empty database, not yet an ELLE store; it needs a writable open to become one`)
    if (version < LATEST_SCHEMA_VERSION) {
      throw new StoreError(
        'read_only',
        `${file} has schema version ${version} and needs migrating to ${LATEST_SCHEMA_VERSION}, which a read-only open does not do; open it once with a command that writes`
      )
    }
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    return db
  } catch (error) {
    db?.close()
    throw asStoreError(error, file)
  }
}

function openWritable(file: string, target: number): Database.Database {
  const size = statStoreFile(file)
  if (size !== null && size > 0) {
    // Every check on a read-only connection first: a file that is not ours is never opened for writing.
    let check: Database.Database | undefined
    try {
      check = connectReadonly(file)
      inspect(check, file)
    } catch (error) {
      throw asStoreError(error, file)
    } finally {
      check?.close()
    }
  }
  if (size === null) fs.mkdirSync(path.dirname(file), { recursive: true })
  checkWritable(file, size !== null)

  const db = new Database(file)
  try {
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    migrate(db, file, target)
    // WAL only once the file is known to be ours and migrated: a refused or failed open keeps its journal mode.
    db.pragma('journal_mode = WAL')
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

function migrate(db: Database.Database, file: string, target: number): void {
  const upToDate = (): boolean => (db.pragma('user_version', { simple: true }) as number) >= target && db.pragma('application_id', { simple: true }) === ELLE_APPLICATION_ID
  if (upToDate()) return
  let from = 0
  try {
    // IMMEDIATE: the write lock before reading, so two processes opening a new store do not both migrate it;
    // the checks are repeated under that lock, as the file may have changed since it was inspected.
    db.transaction(() => {
      const { version } = classify(db, file)
      from = version
      for (const migration of MIGRATIONS.filter((m) => m.version > version && m.version <= target)) {
        db.exec(migration.sql)
        db.pragma(`user_version = ${migration.version}`)
      }
      db.pragma(`application_id = ${ELLE_APPLICATION_ID}`)
    }).immediate()
  } catch (error) {
    if (error instanceof StoreError) throw error
    throw new StoreError('migration_failed', `migrating ${file} from schema ${from} failed at ${(error as Error).message}; the file was rolled back`)
  }
}
