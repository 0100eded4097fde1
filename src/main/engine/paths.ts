// Where the workbench keeps its data when the user does not say: the platform's per-user data directory,
// shared by the desktop app, the CLI and browser mode so they all see the same experiments.
import os from 'node:os'
import path from 'node:path'

export const APP_DIR_NAME = 'elle-workbench'

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.ELLE_DATA_DIR) return path.resolve(env.ELLE_DATA_DIR)
  const home = os.homedir()
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), APP_DIR_NAME)
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_DIR_NAME)
  return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), APP_DIR_NAME)
}

/** Where the store is, and whether the user chose it: `--db FILE` wins, then ELLE_DB, then the data directory's store. */
export interface DbLocation {
  path: string
  /** the user's own path as typed, and where it came from; null for the default store */
  given: { from: '--db' | 'ELLE_DB'; raw: string } | null
}

export function locateDb(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): DbLocation {
  if (flag) return { path: path.resolve(flag), given: { from: '--db', raw: flag } }
  if (env.ELLE_DB) return { path: path.resolve(env.ELLE_DB), given: { from: 'ELLE_DB', raw: env.ELLE_DB } }
  return { path: path.join(defaultDataDir(env), 'experiments.sqlite'), given: null }
}

export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return locateDb(flag, env).path
}

/** Where browser mode stages uploaded corpora (one folder per upload); a domain made from one reads it there. */
export function uploadsDir(dataDir: string): string {
  return path.join(dataDir, 'uploads')
}

/** The upload folder (uploads/<id>) a corpus path lies in, or null when it is not inside the data directory's uploads. */
export function uploadFolderOf(dataDir: string, corpusPath: string): string | null {
  const rel = path.relative(uploadsDir(dataDir), path.resolve(corpusPath))
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null
  return path.join(uploadsDir(dataDir), rel.split(path.sep)[0]!)
}
