// The stale-bundle check the global setup runs before any test: out/ older than any input means rebuild.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { BUNDLE_INPUTS, BUNDLE_OUTPUTS, staleBundleReason } from './bundle'
import { tempDir } from './tmp'

/** A fake checkout: every input and bundle present, inputs at t = 1000 s, bundles at t = 2000 s. */
function checkout(): string {
  const root = tempDir()
  const at = (file: string, seconds: number): void => {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    if (!fs.existsSync(file)) fs.writeFileSync(file, '')
    fs.utimesSync(file, seconds, seconds)
  }
  at(path.join(root, 'src/main/engine/training/worker.ts'), 1000)
  for (const dir of ['src/main/engine/training', 'src/main/engine', 'src/main', 'src']) fs.utimesSync(path.join(root, dir), 1000, 1000)
  for (const rel of BUNDLE_INPUTS.filter((r) => r.includes('.'))) at(path.join(root, rel), 1000)
  for (const rel of BUNDLE_OUTPUTS) at(path.join(root, rel), 2000)
  return root
}

describe('staleBundleReason', () => {
  it('accepts bundles newer than every input', () => {
    expect(staleBundleReason(checkout())).toBeNull()
  })

  it('names the bundle and the source file edited after it was built', () => {
    const root = checkout()
    fs.utimesSync(path.join(root, 'src/main/engine/training/worker.ts'), 3000, 3000)
    expect(staleBundleReason(root)).toBe('out/main/train-worker.js is older than src/main/engine/training/worker.ts')
  })

  it('sees a source file added or deleted (its directory changes), and a changed build config', () => {
    const root = checkout()
    fs.rmSync(path.join(root, 'src/main/engine/training/worker.ts'))
    expect(staleBundleReason(root)).toMatch(/is older than src\/main\/engine\/training$/)
    const other = checkout()
    fs.utimesSync(path.join(other, 'electron.vite.config.ts'), 3000, 3000)
    expect(staleBundleReason(other)).toMatch(/is older than electron\.vite\.config\.ts$/)
  })

  it('reports a missing bundle', () => {
    const root = checkout()
    fs.rmSync(path.join(root, 'out/preload/index.cjs'))
    expect(staleBundleReason(root)).toBe('out/preload/index.cjs is missing')
  })
})
