// Limits that hold on every machine, and the memory budget of this one. The run estimate
// (./estimate.ts) and the growth operator (../growth/grow.ts) check requests against both before they
// allocate anything, so an impossible size is refused with a message instead of hanging or crashing.
import os from 'node:os'

/** The ranges of a model's shape, after growth too: defined with the run config's schema (model.* uses them). */
export { MODEL_LIMITS } from '../../../shared/run-config'

/**
 * Largest tensor (weights or activations), in elements. The backends index tensors with 32-bit integers
 * and the wasm heap is 32-bit; past this a typed array cannot even be made ("Invalid typed array length").
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1

/** tfjs-backend-wasm's heap ceiling (wasm32: emscripten's getHeapMax, 4 GiB - 64 KiB); every tensor lives in it. */
export const WASM_HEAP_BYTES = 4294901760

/** Share of the available memory one run may plan to use: the serving process, the OS and other work keep the rest. */
export const DEFAULT_MEMORY_FRACTION = 0.8

export interface MemoryBudget {
  /** bytes a run (or a growth) may use */
  bytes: number
  /** what the machine had available when the budget was made */
  availableBytes: number
  fraction: number
  /** a cap on tensor memory from the backend (wasm: its heap), independent of the machine */
  tensorCap: { backend: string; bytes: number } | null
}

/**
 * This machine's budget now: `fraction` of the available memory (os.freemem(): MemAvailable on Linux;
 * a cgroup limit counts when it is lower), and the wasm heap ceiling on the wasm backend.
 */
export function machineBudget(options: { fraction?: number; backend?: string | null } = {}): MemoryBudget {
  const fraction = options.fraction ?? DEFAULT_MEMORY_FRACTION
  let available = os.freemem()
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0
  if (constrained && constrained > 0 && constrained < os.totalmem()) available = Math.min(available, Math.max(0, constrained - process.memoryUsage.rss()))
  return budgetOf(available, { fraction, backend: options.backend })
}

/** A budget for a given amount of available memory (tests inject small ones). */
export function budgetOf(availableBytes: number, options: { fraction?: number; backend?: string | null } = {}): MemoryBudget {
  const fraction = options.fraction ?? DEFAULT_MEMORY_FRACTION
  return {
    bytes: Math.floor(availableBytes * fraction),
    availableBytes,
    fraction,
    tensorCap: options.backend === 'wasm' ? { backend: 'wasm', bytes: WASM_HEAP_BYTES } : null
  }
}

/** "this machine has 3.1 GB available, of which 80% (2.5 GB) may be planned for" */
export function describeBudget(budget: MemoryBudget): string {
  return `this machine has ${formatBytes(budget.availableBytes)} available, of which ${Math.round(budget.fraction * 100)}% (${formatBytes(budget.bytes)}) may be planned for`
}

/** 1.2 GB, 340 MB, 7.4 TB (decimal units, as the OS reports memory to users). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']
  let v = bytes
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`
}

/** 1.2 B, 340 M, 12 k, 512 */
export function formatCount(n: number): string {
  const units = ['', ' k', ' M', ' B', ' T', ' P', ' E']
  let v = n
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return i === 0 ? String(Math.round(v)) : `${v.toFixed(1)}${units[i]}`
}
