// Opening the experiment store safely: every check that could find a problem runs read-only first,
// so a file that is not ours, is corrupt, or comes from a newer version is never modified.
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations'

export type StoreErrorCode = 'unreadable' | 'not_sqlite' | 'corrupt' | 'newer_schema' | 'migration_failed' | 'conflict' | 'not_found' | 'invalid'

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string
  ) {
    super(message)
    this.name = 'StoreError'
  }
}

/** Refuse anything that is not a readable SQLite file, without writing to it.
 *  Never through a file descriptor of our own: closing any descriptor of a file drops every POSIX lock
 *  this process holds on it, including the SHARED lock of a store connection already open here (the
 *  engine's, while a run worker opens the same store). Another process (an older sqlite3 shell) could
 *  then believe it is the last connection and delete the WAL under us. SQLite's own read-only open
 *  checks the header instead (SQLITE_NOTADB). */
function inspectExistingFile(file: string): void {
  try {
    const stat = fs.statSync(file)
    if (stat.isDirectory()) throw new StoreError('unreadable', `cannot open store ${file}: it is a directory, not a database file`)
    fs.accessSync(file, fs.constants.R_OK)
    if (stat.size === 0) return // an empty file is a valid, empty SQLite database
  } catch (error) {
    if (error instanceof StoreError) throw error
    throw new StoreError('unreadable', `cannot read store ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  let db: Database.Database | undefined
  try {
    db = new Database(file, { readonly: true, fileMustExist: true })
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > LATEST_SCHEMA_VERSION) {
      throw new StoreError(
        'newer_schema',
        `${file} was written by a newer ELLE Workbench (schema version ${version}; this version understands up to ${LATEST_SCHEMA_VERSION}). Upgrade the workbench; nothing was migrated.`
      )
    }
    const problems = db.pragma('quick_check', { simple: false }) as Array<{ quick_check: string }>
    const bad = problems.map((row) => row.quick_check).filter((message) => message !== 'ok')
    if (bad.length > 0) throw new StoreError('corrupt', `${file} is corrupt (${bad.slice(0, 3).join('; ')}); it was left untouched`)
  } catch (error) {
    if (error instanceof StoreError) throw error
    const code = (error as { code?: string }).code ?? ''
    if (code === 'SQLITE_NOTADB') throw new StoreError('not_sqlite', `${file} is not an SQLite database (wrong file header); it was left untouched`)
    if (code.startsWith('SQLITE_CORRUPT')) throw new StoreError('corrupt', `${file} is corrupt (${(error as Error).message}); it was left untouched`)
    throw new StoreError('unreadable', `cannot read store ${file}: ${(error as Error).message}`)
  } finally {
    db?.close()
  }
}

export interface OpenOptions {
  /** Stop migrating at this version (tests use it to build a database "from the previous version"). */
  targetVersion?: number
}

export function openDatabase(file: string, options: OpenOptions = {}): Database.Database {
  const resolved = path.resolve(file)
  if (fs.existsSync(resolved)) inspectExistingFile(resolved)
  else fs.mkdirSync(path.dirname(resolved), { recursive: true })

  const db = new Database(resolved)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    migrate(db, resolved, options.targetVersion ?? LATEST_SCHEMA_VERSION)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

function migrate(db: Database.Database, file: string, target: number): void {
  const current = db.pragma('user_version', { simple: true }) as number
  const pending = MIGRATIONS.filter((m) => m.version > current && m.version <= target)
  if (pending.length === 0) return
  try {
    db.transaction(() => {
      for (const migration of pending) {
        db.exec(migration.sql)
        db.pragma(`user_version = ${migration.version}`)
      }
    })()
  } catch (error) {
    throw new StoreError('migration_failed', `migrating ${file} from schema ${current} failed at ${(error as Error).message}; the file was rolled back`)
  }
}
