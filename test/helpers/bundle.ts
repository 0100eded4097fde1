// The worker, CLI and end-to-end tests run the built bundles in out/, not the sources: a test file run on its
// own after an edit of src/ would test the old code. The global setup rebuilds when out/ is older than what
// it is built from (by mtime, directories included so an added or deleted file counts too).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** What scripts/build.mjs reads (electron.vite.config.ts: sources, benchmarks, public assets, the package list for externals). */
export const BUNDLE_INPUTS = ['src', 'bench', 'resources', 'electron.vite.config.ts', 'package.json', 'scripts/build.mjs']
/** The bundles tests load: the workers (training, its data-parallel replicas, jobs), the CLI, the Electron main and preloads, the renderer, the GPU page. */
export const BUNDLE_OUTPUTS = [
  'out/main/train-worker.js',
  'out/main/train-replica.js',
  'out/main/job-worker.js',
  'out/main/cli.js',
  'out/main/electron.js',
  'out/preload/index.cjs',
  'out/preload/gpu.cjs',
  'out/renderer/index.html',
  'out/gpu-page/index.html'
]

function newest(entry: string, best: { file: string; mtimeMs: number }): void {
  const stat = fs.statSync(entry, { throwIfNoEntry: false })
  if (!stat) return
  if (stat.mtimeMs > best.mtimeMs) {
    best.file = entry
    best.mtimeMs = stat.mtimeMs
  }
  if (stat.isDirectory()) for (const name of fs.readdirSync(entry)) newest(path.join(entry, name), best)
}

/** Why root/out cannot be trusted to match the sources (one line), or null when every bundle is newer than every input. */
export function staleBundleReason(root: string): string | null {
  let oldest = { file: '', mtimeMs: Infinity }
  for (const rel of BUNDLE_OUTPUTS) {
    const stat = fs.statSync(path.join(root, rel), { throwIfNoEntry: false })
    if (!stat) return `${rel} is missing`
    if (stat.mtimeMs < oldest.mtimeMs) oldest = { file: rel, mtimeMs: stat.mtimeMs }
  }
  const input = { file: '', mtimeMs: -Infinity }
  for (const rel of BUNDLE_INPUTS) newest(path.join(root, rel), input)
  if (input.mtimeMs <= oldest.mtimeMs) return null
  return `${oldest.file} is older than ${path.relative(root, input.file)}`
}

/** Rebuilds out/ when it is stale; throws with the reason when it still is (a failed build). */
export function ensureFreshBundles(root: string): void {
  const reason = staleBundleReason(root)
  if (!reason) return
  console.error(`rebuilding out/: ${reason}`)
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' })
  const still = staleBundleReason(root)
  if (built.status !== 0 || still) throw new Error(`out/ is stale (${still ?? reason}) and the build failed: run node scripts/build.mjs`)
}
