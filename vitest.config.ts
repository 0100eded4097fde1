import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'

// The Electron binary is not installable everywhere; the adapter tests run against a faithful test double.
const electronDouble = fileURLToPath(new URL('./test/doubles/electron.ts', import.meta.url))

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    alias: { electron: electronDouble }
  }
})
