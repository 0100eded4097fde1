// How commands find and open the experiment store. A path the user gave (--db or ELLE_DB) must name a store
// file in an existing folder: a typo must not create a store somewhere new, and a new store at the user's
// path is announced. Only the default data directory is created, silently. Commands that only read open
// the store read-only, so a store on read-only media can still be listed.
import fs from 'node:fs'
import path from 'node:path'
import { DEFAULT_DOMAINS } from '../engine/data'
import { locateDb } from '../engine/paths'
import { ExperimentStore } from '../engine/store/store'
import { UsageError } from './args'

export interface CliStorePath {
  path: string
  /** the user named it (--db or ELLE_DB) */
  given: boolean
  /** no store there yet (no file, or an empty one): opening it for writing creates one */
  isNew: boolean
}

const statOrNull = (file: string): fs.Stats | null => {
  try {
    return fs.statSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return null
    throw error
  }
}

/** The store path for this command, checked; bad paths are usage errors that name the problem. */
export function cliStorePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): CliStorePath {
  const location = locateDb(flag, env)
  if (!location.given) {
    fs.mkdirSync(path.dirname(location.path), { recursive: true })
    const stat = statOrNull(location.path)
    return { path: location.path, given: false, isNew: !stat || stat.size === 0 }
  }
  const { from, raw } = location.given
  const example = path.join(raw, 'experiments.sqlite')
  if (/[\\/]$/.test(raw)) throw new UsageError(`${from} ${raw} names a folder (it ends with a separator); give a store file, e.g. ${example}`)
  const stat = statOrNull(location.path)
  if (stat?.isDirectory()) throw new UsageError(`${from} ${raw} is a folder; give a store file, e.g. ${example}`)
  const dir = path.dirname(location.path)
  const dirStat = statOrNull(dir)
  if (!dirStat?.isDirectory()) throw new UsageError(`${from} ${raw}: the folder ${dir} does not exist; a new store is only created in an existing folder (a typo?)`)
  return { path: location.path, given: true, isNew: !stat || stat.size === 0 }
}

/** Say so when a command created a store at the user's path (stderr: stdout may be --json). */
export function announceNewStore(location: CliStorePath): void {
  if (location.given && location.isNew) console.error(`created new store at ${location.path}`)
}

export interface CliOpenOptions {
  /** open read-only: no migration, no journal-mode change, works on read-only media */
  readonly?: boolean
  /** for a read-only open: the command must write after all (e.g. to register the built-in domains) */
  writeIf?: (store: ExperimentStore) => boolean
}

export function openStoreForCli(flag: string | undefined, options: CliOpenOptions = {}): ExperimentStore {
  const location = cliStorePath(flag)
  // Reading a store that is not there: the default one is created as always (an empty list); a path the
  // user gave is refused by the read-only open ("no store at …") unless the command writes anyway.
  if (options.readonly && (!location.isNew || (location.given && !options.writeIf))) {
    const store = ExperimentStore.open(location.path, { readonly: true })
    if (!options.writeIf?.(store)) return store
    store.close()
  }
  const store = ExperimentStore.open(location.path)
  announceNewStore(location)
  return store
}

/** The built-in default stream is registered in the store on first use (a write). */
export function lacksBuiltinDomains(store: ExperimentStore): boolean {
  return DEFAULT_DOMAINS.some((name) => !store.findDomain(name))
}
