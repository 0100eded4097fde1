// Plugin state across a checkpoint: each stateful plugin's JSON goes into state.json under its name, its
// tensors (importance, anchors, a teacher, frozen columns) into plugins.safetensors as "<plugin>/<group>/<name>".
// On load every entry is parsed with the plugin's zod schema first, so a malformed checkpoint is refused
// naming the plugin and field instead of failing somewhere inside a method. Checkpoints written before
// plugins.safetensors hold the tensors as base64 inside the JSON; they still load (the next save writes the new form).
import { z } from 'zod'
import { describeZodError } from '../../../shared/contract'
import type { Weights } from '../model'
import type { StateTensorReader, StateTensorWriter, StoredTensors, TensorRef, TrainingPlugin } from './plugin-api'

export const TensorRefSchema = z.object({ tensors: z.string().min(1), names: z.array(z.string().min(1)) }).strict()
/** The older form: shapes and little-endian float32 bytes in base64, by tensor name. */
export const Base64TensorsSchema = z.record(z.string(), z.object({ shape: z.array(z.number().int().min(0)), base64: z.string() }).strict())
export const StoredTensorsSchema: z.ZodType<StoredTensors> = z.union([TensorRefSchema, Base64TensorsSchema], {
  error: 'must be a tensor reference {tensors, names} into plugins.safetensors, or tensors as {name: {shape, base64}}'
})

export class PluginStateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PluginStateError'
  }
}

export interface SavedPluginStates {
  /** each stateful plugin's saveState(), by plugin name */
  json: Record<string, unknown>
  /** their tensors, named "<plugin>/<group>/<name>" */
  tensors: Weights
}

const isRef = (stored: StoredTensors): stored is TensorRef => Array.isArray((stored as { names?: unknown }).names) && typeof stored.tensors === 'string'

export async function savePluginStates(plugins: readonly TrainingPlugin[]): Promise<SavedPluginStates> {
  const json: Record<string, unknown> = {}
  const tensors: Weights = {}
  for (const p of plugins) {
    if (!p.saveState) continue
    const groups = new Set<string>()
    const writer: StateTensorWriter = {
      put(group, weights) {
        if (groups.has(group)) throw new Error(`plugin ${p.name}: tensor group "${group}" saved twice`)
        groups.add(group)
        for (const [name, w] of Object.entries(weights)) tensors[`${p.name}/${group}/${name}`] = w
        return { tensors: group, names: Object.keys(weights) }
      }
    }
    json[p.name] = await p.saveState(writer)
  }
  return { json, tensors }
}

/**
 * Restores every plugin that has an entry in `states`: parsed with its `stateSchema`, tensors from `tensors`
 * (plugins.safetensors) or base64 in the entry. `source` names where the states come from, for errors.
 */
export function loadPluginStates(plugins: readonly TrainingPlugin[], states: Record<string, unknown>, tensors: Weights, source: string): void {
  for (const p of plugins) {
    if (!p.loadState || states[p.name] === undefined) continue
    const where = `${source}: plugins.${p.name}`
    if (!p.stateSchema) throw new Error(`plugin ${p.name} restores state but declares no stateSchema`)
    const parsed = p.stateSchema.safeParse(states[p.name])
    if (!parsed.success) throw new PluginStateError(`${describeZodError(where, parsed.error)} (the checkpoint's state of method plugin "${p.name}" is malformed)`)
    const reader: StateTensorReader = {
      read: (stored) => (isRef(stored) ? readRef(p.name, stored, tensors, where) : decodeBase64(stored, where))
    }
    try {
      p.loadState(parsed.data, reader)
    } catch (error) {
      if (error instanceof PluginStateError) throw error
      throw new PluginStateError(`${where}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

function readRef(plugin: string, ref: TensorRef, tensors: Weights, where: string): Weights {
  const out: Weights = {}
  for (const name of ref.names) {
    const key = `${plugin}/${ref.tensors}/${name}`
    const w = tensors[key]
    if (!w) throw new PluginStateError(`${where}: tensor "${key}" of group "${ref.tensors}" is not in the checkpoint's plugins.safetensors`)
    out[name] = w
  }
  return out
}

function decodeBase64(encoded: Record<string, { shape: number[]; base64: string }>, where: string): Weights {
  const out: Weights = {}
  for (const [name, e] of Object.entries(encoded)) {
    const bytes = Buffer.from(e.base64, 'base64')
    const values = e.shape.reduce((n, d) => n * d, 1)
    if (bytes.byteLength !== values * 4)
      throw new PluginStateError(`${where}: tensor "${name}" holds ${bytes.byteLength} bytes for shape [${e.shape.join(', ')}] (${values * 4} expected)`)
    // copy into a fresh, aligned buffer (a Buffer may sit at any offset of a shared pool)
    const data = new Float32Array(values)
    new Uint8Array(data.buffer).set(bytes)
    out[name] = { shape: e.shape, data }
  }
  return out
}
