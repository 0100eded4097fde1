// The CPU time of the calling thread. Node 20 has no per-thread CPU clock (process.cpuUsage counts every
// thread of the process, also when called in a worker), so on Linux this reads /proc/thread-self/schedstat,
// which the kernel keeps per thread in nanoseconds: the time the thread ran on a CPU, and the time it was
// runnable but waited for one (what a loaded machine takes away). Elsewhere it answers null.
import fs from 'node:fs'

export interface ThreadTime {
  /** milliseconds this thread ran on a CPU */
  cpuMs: number
  /** milliseconds this thread was ready to run but waited for a CPU (the machine's load) */
  waitMs: number
}

let available = process.platform === 'linux'

/** This thread's CPU and run-queue wait so far, or null where the kernel does not tell. */
export function threadTime(): ThreadTime | null {
  if (!available) return null
  try {
    const [run, wait] = fs.readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/).map(Number)
    if (!Number.isFinite(run) || !Number.isFinite(wait)) throw new Error('unexpected schedstat')
    return { cpuMs: run! / 1e6, waitMs: wait! / 1e6 }
  } catch {
    available = false
    return null
  }
}

/** The difference of two readings (null when either is). */
export function threadTimeSince(start: ThreadTime | null, end: ThreadTime | null = threadTime()): ThreadTime | null {
  return start && end ? { cpuMs: end.cpuMs - start.cpuMs, waitMs: end.waitMs - start.waitMs } : null
}
