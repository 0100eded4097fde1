// Prepared once per test session: the built-in default stream (real Brown and SpamAssassin corpora from
// npm) in a shared data directory, so test files that train on it do not race to prepare it.
import os from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { ensureDefaultStream } from '../src/main/engine/data'
import { defaultStreamDir } from '../src/main/engine/training/data'

declare module 'vitest' {
  export interface ProvidedContext {
    dataDir: string
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const dataDir = process.env.ELLE_TEST_DATA_DIR ?? path.join(os.tmpdir(), 'elle-test-data')
  await ensureDefaultStream(defaultStreamDir(dataDir))
  project.provide('dataDir', dataDir)
}
