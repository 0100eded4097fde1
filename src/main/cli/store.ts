// How commands find and open the experiment store. A path the user gave (--db or ELLE_DB) must name a store
// file in an existing folder: a typo must not create a store somewhere new, and a new store at the user's
// path is announced. Only the default data directory is created, silently. Commands that only read open
// the store read-only, so a store on read-only media can still be listed.
import fs from 'node:fs'
import path from 'node:path'
import { DEFAULT_DOMAINS, locateDb } from '../engine/api/facade'
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

/** The built-in default stream is registered in the store on first use (a write): true while it is not. */
export async function lacksBuiltinDomains(api: { call(method: 'domains.list', params: Record<string, never>): Promise<{ domains: Array<{ name: string }> }> }): Promise<boolean> {
  const { domains } = await api.call('domains.list', {})
  return DEFAULT_DOMAINS.some((name) => !domains.some((d) => d.name === name))
}
