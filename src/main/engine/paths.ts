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

/** `--db FILE` wins, then ELLE_DB, then the data directory's store. */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag)
  if (env.ELLE_DB) return path.resolve(env.ELLE_DB)
  return path.join(defaultDataDir(env), 'experiments.sqlite')
}
