// electron-builder.json's pruning (npm run package) checked against the REAL files of the installed
// onnxruntime-node and webgpu packages: for each target (platform, arch) the patterns electron-builder would
// apply (the top-level `files` and the platform's, `${arch}` expanded, minimatch-style globs with dot files)
// must keep exactly the binaries that package loads on that target and leave out every other platform's and
// arch's, DirectML and any downloaded execution provider. The patterns are matched with picomatch (what
// vite uses), which reads the braces and `!(…)` groups these patterns use as electron-builder's minimatch does.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))))
const require = createRequire(import.meta.url)
const picomatch = require('picomatch') as (glob: string, options: { dot: boolean }) => (file: string) => boolean

interface BuilderConfig {
  files: string[]
  linux: { files: string[] }
  mac: { files: string[] }
  win: { files: string[] }
}
const config = JSON.parse(fs.readFileSync(path.join(root, 'electron-builder.json'), 'utf8')) as BuilderConfig

type Section = 'linux' | 'mac' | 'win'
const SECTION: Record<string, Section> = { linux: 'linux', darwin: 'mac', win32: 'win' }

/** Whether electron-builder packages this file (relative to the app root) for the target. */
function packaged(file: string, platform: string, arch: string): boolean {
  const patterns = [...config.files, ...config[SECTION[platform]!].files]
  // exclusion-only lists: electron-builder starts from every file, and each `!pattern` removes what it matches
  expect(patterns.every((p) => p.startsWith('!'))).toBe(true)
  return !patterns.some((p) => picomatch(p.slice(1).replaceAll('${arch}', arch), { dot: true })(file))
}

/** Every file under a directory of the installed packages, relative to the app root. */
function filesUnder(dir: string): string[] {
  const abs = path.join(root, dir)
  if (!fs.existsSync(abs)) return []
  return (fs.readdirSync(abs, { recursive: true }) as string[])
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
    .filter((f) => fs.statSync(path.join(root, f)).isFile())
}

const ort = filesUnder('node_modules/onnxruntime-node/bin')
const webgpu = filesUnder('node_modules/webgpu/dist')

// What each package loads (onnxruntime-node dist/binding.js; webgpu index.js: darwin-universal on macOS), and
// what must not ship with it.
const ortDir = (platform: string, arch: string): string => `node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}/`
const webgpuDir = (platform: string, arch: string): string => `node_modules/webgpu/dist/${platform}-${platform === 'darwin' ? 'universal' : arch}/`
const unwanted = (f: string): boolean => /\/(DirectML|dxcompiler|dxil)\.dll$/.test(f) && f.includes('/onnxruntime-node/')

const targets: Array<[string, string]> = [
  ['linux', 'x64'],
  ['linux', 'arm64'],
  ['darwin', 'arm64'],
  ['win32', 'x64'],
  ['win32', 'arm64']
]

describe('electron-builder.json prunes the native packages per target', () => {
  it('finds the installed packages with binaries for several platforms (else this test checks nothing)', () => {
    const platforms = new Set(ort.map((f) => f.split('/')[4]))
    expect(platforms.size).toBeGreaterThanOrEqual(3)
    expect(ort.some((f) => f.startsWith(ortDir(process.platform, process.arch)) && f.endsWith('onnxruntime_binding.node'))).toBe(true)
    expect(webgpu.length).toBeGreaterThan(0)
  })

  it('keeps on this machine exactly the binaries this machine loads', () => {
    const kept = [...ort, ...webgpu].filter((f) => packaged(f, process.platform, process.arch))
    const own = [...ort, ...webgpu].filter((f) => (f.startsWith(ortDir(process.platform, process.arch)) || f.startsWith(webgpuDir(process.platform, process.arch))) && !unwanted(f))
    expect(kept.sort()).toEqual(own.sort())
    // the addon the engine requires is among them
    expect(kept).toContain(`${ortDir(process.platform, process.arch)}onnxruntime_binding.node`)
  })

  it.each(targets)('for %s %s keeps its own binaries and leaves out every other platform, arch and DirectML', (platform, arch) => {
    for (const f of [...ort, ...webgpu]) {
      // onnxruntime 1.30 ships macOS for arm64 only: a mac build keeps darwin/ whole (universal builds)
      const own =
        f.startsWith(ortDir(platform, arch)) ||
        f.startsWith(webgpuDir(platform, arch)) ||
        (platform === 'darwin' && f.startsWith('node_modules/onnxruntime-node/bin/napi-v6/darwin/'))
      expect({ file: f, packaged: packaged(f, platform, arch) }).toEqual({ file: f, packaged: own && !unwanted(f) })
    }
  })

  it('leaves out downloaded execution providers (CUDA, TensorRT) and the repository sources', () => {
    for (const [platform, arch] of targets) {
      expect(packaged('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so', platform, arch)).toBe(false)
      expect(packaged('node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime_providers_tensorrt.dll', platform, arch)).toBe(false)
      expect(packaged('src/main/engine/model/train.ts', platform, arch)).toBe(false)
      expect(packaged('test/engine/packaging.test.ts', platform, arch)).toBe(false)
      // what the app runs from stays
      expect(packaged('out/main/electron.js', platform, arch)).toBe(true)
      expect(packaged('package.json', platform, arch)).toBe(true)
      expect(packaged('node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm', platform, arch)).toBe(true)
    }
  })
})
