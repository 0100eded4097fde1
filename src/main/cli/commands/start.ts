import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { electronMainFile } from '../../app-root'
import type { Command } from '../args'
import { cliStorePath } from '../store'
import { serve, serveFlags, serveOptionsFrom } from './serve'

const require = createRequire(import.meta.url)

export type ElectronAvailability = { ok: true; binary: string } | { ok: false; reason: string }

/** Can this machine open the Electron window? If not, say exactly why. */
export function electronAvailability(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): ElectronAvailability {
  let binary: unknown
  try {
    require.resolve('electron')
  } catch {
    return { ok: false, reason: 'the optional "electron" package is not installed (its binary could not be downloaded at install time)' }
  }
  try {
    binary = require('electron') // from plain Node, the package exports the binary's path
  } catch (error) {
    const message = (error as Error).message
    // The package throws this when its binary was never downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD, no network).
    if (message.includes('failed to install correctly')) {
      return { ok: false, reason: 'the Electron binary is not installed (it could not be downloaded at install time, or ELECTRON_SKIP_BINARY_DOWNLOAD was set)' }
    }
    return { ok: false, reason: `the electron package is incomplete: ${message.split('\n')[0]}` }
  }
  if (typeof binary !== 'string' || !fs.existsSync(binary)) {
    return { ok: false, reason: 'the Electron binary is missing (installed with ELECTRON_SKIP_BINARY_DOWNLOAD or without network)' }
  }
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { ok: false, reason: 'no graphical display ($DISPLAY and $WAYLAND_DISPLAY are unset)' }
  }
  if (!fs.existsSync(electronMainFile())) return { ok: false, reason: `the app is not built (${electronMainFile()} is missing; run "npm run build")` }
  return { ok: true, binary }
}

export const startCommand: Command = {
  name: 'start',
  summary: 'Open the desktop workbench; where Electron cannot run, serve it in browser mode instead.',
  usage: 'elle start [--browser] [--port N] [--db FILE] [--backend NAME]',
  // the workbench (Electron, or browser mode) serves the whole contract
  methods: 'all',
  flags: { ...serveFlags, browser: { type: 'boolean', description: 'skip Electron and use browser mode' } },
  async run({ values }) {
    const options = serveOptionsFrom(values)
    const electron: ElectronAvailability = values.browser ? { ok: false, reason: 'browser mode was requested with --browser' } : electronAvailability()
    if (!electron.ok) return serve({ ...options, fallbackReason: electron.reason })
    cliStorePath(options.db) // a mistyped --db is refused here, before the window opens
    const env = { ...process.env, ...(options.db ? { ELLE_DB: options.db } : {}), ...(options.backend ? { ELLE_BACKEND: options.backend } : {}) }
    const child = spawn(electron.binary, [electronMainFile()], { stdio: 'inherit', env })
    return new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', (code) => resolve(code ?? 1))
    })
  }
}
