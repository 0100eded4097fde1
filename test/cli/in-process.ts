// `elle` in this process, as bin/elle runs main(): its exit code and what it printed (console.log / console.error).
// Starting the built CLI in a child process costs 2-3 s of CPU (node, the bundle, tfjs) before it reads its
// arguments; a test of what a command does with its arguments runs here, and a few child-process cases per file
// keep covering the bundle and bin/elle.mjs (test/cli/elle.ts).
import { format } from 'node:util'
import { inject, vi } from 'vitest'
import { main } from '../../src/main/cli/index'
import type { ElleResult } from './elle'

export async function elleInProcess(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')))
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')))
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') }
  } finally {
    log.mockRestore()
    error.mockRestore()
  }
}

/**
 * `elle ARGS` through main() in this process, answering like the child-process `elle` (test/cli/elle.ts): stdout and
 * stderr as the process would have written them (console.log/error and direct writes to process.stdout/stderr),
 * with `env` set for the call (ELLE_DB, ELLE_BACKEND, ...). A command still running after timeoutMs answers code -1,
 * like the killed child, so a command that ignored a refusal (a server that listens) fails instead of blocking.
 * One call at a time: it borrows the process's console, streams and environment.
 */
export async function elleHere(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<ElleResult> {
  let stdout = ''
  let stderr = ''
  // what test/cli/elle.ts gives the child: the default backend choice and the prepared data directory
  const vars: NodeJS.ProcessEnv = { ELLE_BACKEND: '', ELLE_DATA_DIR: inject('dataDir'), ...env }
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${format(...a)}\n`)),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${format(...a)}\n`)),
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true))
  ]
  let timer: NodeJS.Timeout | undefined
  try {
    const timedOut = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-1), timeoutMs)))
    const code = await Promise.race([main([...args]), timedOut])
    return { code, stdout, stderr }
  } finally {
    clearTimeout(timer)
    for (const spy of spies) spy.mockRestore()
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
