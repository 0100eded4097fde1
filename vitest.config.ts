import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'
import LongestFirstSequencer from './test/sequencer'

// The Electron binary is not installable everywhere; the adapter tests run against a faithful test double.
const electronDouble = fileURLToPath(new URL('./test/doubles/electron.ts', import.meta.url))

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    environment: 'node',
    pool: 'forks',
    // vitest's default in run mode is one worker fewer than the cores: one on a 2-core machine, which ran the suite
    // file by file (18 min). Most files wait on a browser, a child process or a training worker, so two overlap well.
    maxWorkers: 2,
    // the slowest files first (test/file-durations.json), so the two workers finish together on a clean clone too
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    alias: { electron: electronDouble }
  }
})
