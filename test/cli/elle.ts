// Running the built `elle` (bin/elle.mjs) in a child process, as users do; build first with
// `node scripts/build.mjs`. Asynchronous, so a table of cases can run a few at a time.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { inject } from 'vitest'

export const BIN = path.resolve('bin/elle.mjs')

export interface ElleResult {
  code: number
  stdout: string
  stderr: string
}

/** `elle ARGS`; a child still running after timeoutMs is killed (code -1), so a hang fails instead of blocking. */
export function elle(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<ElleResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ELLE_BACKEND: '', ELLE_DATA_DIR: inject('dataDir'), ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
  })
}

/** fn over items, at most `width` at once (the machine is shared), results in order. */
export async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker))
  return results
}
