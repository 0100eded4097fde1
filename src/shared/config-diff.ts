// Configs as flat dotted paths (`training.lr`, `stages.1.grow.layers`): the runs table's config columns, and the
// diff of the selected runs' configs, where only the fields that differ are shown.

export type ConfigScalar = string | number | boolean | null

/** Every leaf of a config as `dotted.path → scalar`; arrays by index. An empty object or array is a leaf of its own (`{}` / `[]`). */
export function flattenConfig(config: unknown, prefix = ''): Record<string, ConfigScalar> {
  const out: Record<string, ConfigScalar> = {}
  const walk = (value: unknown, path: string): void => {
    if (value === null || value === undefined) {
      if (path) out[path] = null
      return
    }
    if (Array.isArray(value)) {
      if (value.length === 0 && path) out[path] = '[]'
      value.forEach((v, i) => walk(v, path ? `${path}.${i}` : String(i)))
      return
    }
    if (typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>)
      if (entries.length === 0 && path) out[path] = '{}'
      for (const [k, v] of entries) walk(v, path ? `${path}.${k}` : k)
      return
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[path] = value
    else out[path] = String(value)
  }
  walk(config, prefix)
  return out
}

export interface ConfigDiffField {
  /** dotted path inside the config */
  field: string
  /** per run, in the order given; undefined: the run's config has no such field */
  values: Array<ConfigScalar | undefined>
}

/** Sort paths so `stages.2` comes before `stages.10`. */
const byPath = (a: string, b: string): number => a.localeCompare(b, undefined, { numeric: true })

/** The fields whose values are not the same in every config (a field some configs lack differs), in path order. */
export function configDiff(configs: readonly unknown[]): ConfigDiffField[] {
  const flat = configs.map((c) => flattenConfig(c))
  const fields = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort(byPath)
  const out: ConfigDiffField[] = []
  for (const field of fields) {
    const values = flat.map((f) => (field in f ? f[field] : undefined))
    if (values.some((v) => v !== values[0])) out.push({ field, values })
  }
  return out
}
