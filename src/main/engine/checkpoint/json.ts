// Plain JSON values: what the caller's training/experiment/state objects must be so they survive a save.
import { CheckpointError } from './errors'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** Throws naming the path of the first value JSON would silently change (NaN, undefined, a Map, ...). */
export function assertJsonObject(value: unknown, field: string, file?: string): asserts value is JsonObject {
  const where = file ? `${file}: ` : ''
  const bad = (at: string, why: string): never => {
    throw new CheckpointError('BAD_INPUT', `${where}${at}: ${why}`, { file, field: at })
  }
  const visit = (v: unknown, at: string, depth: number): void => {
    if (depth > 64) bad(at, 'nested too deeply (over 64 levels)')
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) bad(at, `${v} is not representable in JSON`)
      return
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${at}[${i}]`, depth + 1))
      return
    }
    if (typeof v === 'object') {
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) bad(at, `a ${(v as object).constructor?.name ?? 'non-plain'} object is not plain JSON`)
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) visit(x, `${at}.${k}`, depth + 1)
      return
    }
    bad(at, `a ${typeof v} is not JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(field, 'must be a JSON object')
  visit(value, field, 0)
}
