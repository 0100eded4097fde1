import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'

/** A fresh temp directory removed after the test file (vitest calls the returned cleanup). */
export function tempDir(prefix = 'elle-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}
