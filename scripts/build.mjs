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
console.error(`built main, preload and renderer into out/ in ${((Date.now() - started) / 1000).toFixed(1)} s`)
