// The runs table's columns: built-ins, `config.<dotted path>` and `final.<metric>`, and a row flattened to those
// ids (what the filter query, the search and the sort read; src/shared/run-query.ts).
import type { RunTableRow } from './contract'
import type { FlatRow } from './run-query'

export const BUILTIN_COLUMNS = ['id', 'experiment', 'status', 'method', 'seed', 'tags', 'note', 'created'] as const
export type BuiltinColumn = (typeof BUILTIN_COLUMNS)[number]

const LABELS: Record<string, string> = {
  id: '#',
  experiment: 'Experiment',
  status: 'Status',
  method: 'Method',
  seed: 'Seed',
  tags: 'Tags',
  note: 'Note',
  created: 'Created',
  'final.ap': 'AP',
  'final.ap_geo': 'geo AP',
  'final.ap_plus': 'AP+',
  'final.loss': 'loss',
  'final.tokens': 'tokens',
  'final.wall_s': 'wall s',
  'final.flops': 'FLOPs',
  'final.params': 'params'
}

/** A column header: the built-ins and common metrics by name, other fields by their path. */
export function columnLabel(column: string): string {
  return LABELS[column] ?? column.replace(/^(config|final)\./, '')
}

/** The row as column id → cell. */
export function flattenRow(row: RunTableRow): FlatRow {
  const flat: Record<string, FlatRow[string]> = {
    id: row.id,
    experiment: row.experiment,
    status: row.status,
    method: row.method,
    seed: row.seed,
    tags: row.tags,
    note: row.note,
    created: row.createdAt
  }
  for (const [k, v] of Object.entries(row.config)) flat[`config.${k}`] = v
  for (const [k, v] of Object.entries(row.final)) flat[`final.${k}`] = v
  return flat
}

/** A cell as text: numbers to 4 significant digits (big ones compact), tags joined. */
export function formatCell(value: FlatRow[string] | undefined): string {
  if (value === null || value === undefined) return '–'
  if (Array.isArray(value)) return value.join(', ')
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value)
    const abs = Math.abs(value)
    if (abs >= 1e6) {
      const [d, s] = abs >= 1e12 ? [1e12, 'T'] : abs >= 1e9 ? [1e9, 'G'] : [1e6, 'M']
      return `${(value / (d as number)).toPrecision(3)}${s}`
    }
    return String(Number(value.toPrecision(4)))
  }
  return String(value)
}
