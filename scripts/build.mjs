// Builds main, preload and renderer from electron.vite.config.ts with plain Vite.
// Works without the Electron binary, so `npm start` (browser mode), `npm test` and CI share one build.
import { build, loadConfigFromFile } from 'vite'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const started = Date.now()
const loaded = await loadConfigFromFile({ command: 'build', mode: 'production' }, path.join(root, 'electron.vite.config.ts'), root, 'silent')
if (!loaded) throw new Error('electron.vite.config.ts could not be loaded')
const config = loaded.config

for (const section of ['main', 'preload', 'renderer']) {
  const sectionConfig = config[section]
  await build({ ...sectionConfig, root: sectionConfig.root ?? root, configFile: false, logLevel: 'warn', mode: 'production' })
}
// The GPU page (docs/webgpu.md): a browser page with tfjs, its WebGPU backend and the engine's model code, which
// Electron's main process loads in a hidden window. Its own section: electron-vite knows only the three above.
await build({
  root: path.join(root, 'src/main/engine/backend/gpu-page'),
  base: './',
  configFile: false,
  logLevel: 'warn',
  mode: 'production',
  publicDir: false,
  build: {
    outDir: path.join(root, 'out/gpu-page'),
    emptyOutDir: true,
    target: 'es2022',
    // tfjs is large; one script is what the page loads
    chunkSizeWarningLimit: 4096,
    rollupOptions: { input: path.join(root, 'src/main/engine/backend/gpu-page/index.html') }
  }
})
console.error(`built main, preload, renderer and the GPU page into out/ in ${((Date.now() - started) / 1000).toFixed(1)} s`)
