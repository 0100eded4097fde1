// Locating the installed application (the folder with our package.json) from either the sources or the
// bundles in out/, so built assets such as the renderer are found the same way in tests, CLI and app.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

export function appRoot(): string {
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

export const rendererDir = (): string => path.join(appRoot(), 'out', 'renderer')
export const preloadFile = (): string => path.join(appRoot(), 'out', 'preload', 'index.cjs')
export const electronMainFile = (): string => path.join(appRoot(), 'out', 'main', 'electron.js')
