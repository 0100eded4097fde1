// npm run package [-- electron-builder options, e.g. --linux --x64]: builds out/ and packages the desktop app
// with electron-builder (electron-builder.json: per-platform pruning of onnxruntime-node and webgpu binaries).
// electron-builder is not a dependency of the repository (it is large and only needed to ship installers):
// without it, or without the Electron package, this prints what to install and exits with status 1.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const require = createRequire(path.join(root, 'package.json'))

function packageJson(name) {
  try {
    return { file: require.resolve(`${name}/package.json`), json: JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) }
  } catch {
    return null
  }
}

const electron = packageJson('electron')
if (!electron) {
  console.error('npm run package: the electron package is not installed (an optional dependency). Run `npm install` on a machine where it installs.')
  process.exit(1)
}
const builder = packageJson('electron-builder')
if (!builder) {
  console.error(
    [
      'npm run package: electron-builder is not installed. It is not a dependency of the repository (only packaging needs it);',
      'install it for this checkout without saving it, then run this again:',
      '',
      '  npm install --no-save electron-builder',
      '  npm run package            # this platform; e.g. `npm run package -- --linux --x64` for another target'
    ].join('\n')
  )
  process.exit(1)
}
// electron-builder downloads the Electron distribution of each target itself; the local binary is only a hint
const electronDir = path.dirname(electron.file)
const localBinary = fs.existsSync(path.join(electronDir, 'path.txt')) && fs.existsSync(path.join(electronDir, 'dist'))
if (!localBinary)
  console.error(
    `npm run package: the Electron ${electron.json.version} binary is not installed in node_modules/electron (its download was skipped or failed); electron-builder will download Electron ${electron.json.version} for the target, which needs network access.`
  )

const bin = typeof builder.json.bin === 'string' ? builder.json.bin : builder.json.bin?.['electron-builder']
if (!bin) {
  console.error(`npm run package: electron-builder ${builder.json.version} names no electron-builder executable in its package.json`)
  process.exit(1)
}
const run = (args) => {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
run([path.join(root, 'scripts', 'build.mjs')])
run([path.join(path.dirname(builder.file), bin), '--config', 'electron-builder.json', ...process.argv.slice(2)])
