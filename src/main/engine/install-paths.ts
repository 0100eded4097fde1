// Locating the installed workbench (the folder with our package.json) from either the sources or the
// bundles in out/, so the engine finds its own worker bundles the same way in tests, CLI and app.
// The app shell's files (renderer, preload, Electron main) are named in src/main/app-root.ts, not here.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

export function installRoot(): string {
  if (cached) return cached
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = path.join(dir, 'package.json')
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'elle-workbench') {
      cached = dir
      return dir
    }
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('cannot find the elle-workbench installation folder')
    dir = parent
  }
}

/** A bundle of the main build (out/main), such as a worker's entry: `mainBundle('train-worker.js')`. */
export const mainBundle = (file: string): string => path.join(installRoot(), 'out', 'main', file)
