import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { afterAll } from 'vitest'

const made: string[] = []

// Registered when a test file first imports this module, on that file's root suite: it runs after every
// test and every other afterAll of the file (hooks run in reverse order), so a directory may be shared by
// the file's tests and is removed only when the file is done.
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
})

/** A fresh temp directory, removed with everything in it after the test file that made it. */
export function tempDir(prefix = 'elle-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  made.push(dir)
  return dir
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}
