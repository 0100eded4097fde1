// Pure helpers of the run queue (issue 14), shared by the engine and the Queue view: a sweep's configs,
// and how long a list of estimates takes over some slots.
import type { SweepOption } from './contract'
import { methodOptions } from './designer'
import { METHOD_NAMES, type MethodName, type RunConfigInput } from './run-config'

export interface SweepPoint {
  method: string | null
  seed: number | null
  options: Array<{ path: string; value: number | string | boolean }>
  /** the run's config: the base with these set, named after the group and the point */
  config: RunConfigInput
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Set a dotted path in a copy-on-write clone (objects along the path are created as needed). */
function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  keys.slice(0, -1).forEach((key) => {
    const next = node[key]
    node[key] = isObject(next) ? { ...next } : {}
    node = node[key] as Json
  })
  node[keys.at(-1)!] = value
}

/**
 * The config of `base` for another method, changed only as far as the method's rules need (run-config.ts
 * crossFieldRules): fixed-size methods lose growth and the warm-up, memory-less ones replay nothing, the
 * replaying ones get the base's ratio or 0.1.
 */
export function configForMethod(base: RunConfigInput, name: MethodName): RunConfigInput {
  const config = structuredClone(base) as RunConfigInput & Json
  const baseMethod = isObject(base.method) ? (base.method as Json) : null
  config.method = (baseMethod?.name === name ? { ...baseMethod } : { name }) as RunConfigInput['method']
  if (name !== 'elle') config.stages = config.stages.map((s) => ({ ...s, frwSteps: 0 }))
  if (name !== 'elle' && name !== 'joint' && name !== 'scratch') config.stages = config.stages.map(({ grow: _grow, ...s }) => s)
  if (['naive', 'pnn', 'joint', 'scratch'].includes(name)) {
    config.replay = { ...(isObject(config.replay) ? config.replay : {}), ratio: 0 }
    config.stages = config.stages.map((s) => (s.replay ? { ...s, replay: { ...s.replay, ratio: 0 } } : s))
  }
  if ((name === 'er' || name === 'rewarm') && !((config.replay?.ratio ?? 0) > 0)) config.replay = { ...(config.replay ?? {}), ratio: 0.1 }
  return config
}

/** Every point of methods × seeds × option values (in that nesting order), each with its config. */
export function sweepPoints(base: RunConfigInput, group: string, axes: { methods?: readonly string[]; seeds?: readonly number[]; options?: readonly SweepOption[] }): SweepPoint[] {
  const methods: Array<string | null> = axes.methods?.length ? [...axes.methods] : [null]
  const seeds: Array<number | null> = axes.seeds?.length ? [...axes.seeds] : [null]
  const points: SweepPoint[] = []
  for (const method of methods) {
    // a method option (method.lambda) is swept only for the methods that have it: naive runs once per seed
    const name = method ?? (isObject(base.method) ? String(base.method.name) : null)
    const applies = (path: string): boolean => !path.startsWith('method.') || (name !== null && isMethodName(name) && methodOptions(name).some((o) => o.key === path.split('.')[1]))
    let combos: SweepPoint['options'][] = [[]]
    for (const option of (axes.options ?? []).filter((o) => applies(o.path)))
      combos = combos.flatMap((combo) => option.values.map((value) => [...combo, { path: option.path, value }]))
    for (const seed of seeds)
      for (const options of combos) {
        let config = structuredClone(base) as RunConfigInput & Json
        if (method !== null) config = configForMethod(config, method as MethodName) as RunConfigInput & Json
        if (seed !== null) config.training = { ...(isObject(config.training) ? config.training : {}), seed }
        for (const { path, value } of options) setPath(config, path, value)
        const label = [group, method, seed === null ? null : `seed=${seed}`, ...options.map((o) => `${o.path}=${String(o.value)}`)].filter((x) => x !== null).join(' ')
        config.name = label.slice(0, 200)
        points.push({ method, seed, options, config })
      }
  }
  return points
}

export const isMethodName = (name: string): name is MethodName => (METHOD_NAMES as readonly string[]).includes(name)

/** Seconds until estimates (in queue order) are through on `slots` slots: each starts on the first slot free. */
export function makespan(seconds: readonly number[], slots: number): number {
  const free = new Array<number>(Math.max(1, slots)).fill(0)
  for (const s of seconds) {
    let i = 0
    for (let j = 1; j < free.length; j++) if (free[j]! < free[i]!) i = j
    free[i]! += s
  }
  return Math.max(...free)
}
