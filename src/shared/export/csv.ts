// The long-format CSV of runs' series (runs.exportCsv): one row per stored point, so pandas, R or a spreadsheet
// can pivot it any way; RFC 4180 quoting so labels with commas, quotes or newlines survive a round trip.

export const CSV_COLUMNS = ['run_id', 'run_label', 'metric', 'phase', 'stage', 'domain', 'step', 'tokens', 'wall_s', 'flops', 'value'] as const

/** The most rows one export writes (about 150 MB of text): beyond it the export is refused, naming the count. */
export const EXPORT_CSV_MAX_ROWS = 2_000_000

export interface LongRow {
  runId: number
  runLabel: string
  metric: string
  phase: string
  stage: number | null
  domain: string | null
  step: number
  tokens: number
  wallS: number
  flops: number
  value: number
}

/** A field quoted when it holds a comma, a quote or a line break (quotes doubled); null is the empty field. */
export function csvField(v: string | number | null): string {
  if (v === null) return ''
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan') : v
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function csvLine(fields: ReadonlyArray<string | number | null>): string {
  return fields.map(csvField).join(',')
}

/** The header and one line per row, each ended by CRLF (RFC 4180). */
export function csvLong(rows: Iterable<LongRow>): string {
  const out: string[] = [csvLine(CSV_COLUMNS)]
  for (const r of rows) out.push(csvLine([r.runId, r.runLabel, r.metric, r.phase, r.stage, r.domain, r.step, r.tokens, r.wallS, r.flops, r.value]))
  return out.join('\r\n') + '\r\n'
}

/** Whether a metric name is chosen by a list of exact names and `prefix/*` families (no list: every metric). */
export function metricMatcher(metrics: readonly string[] | undefined): (name: string) => boolean {
  if (metrics === undefined) return () => true
  const exact = new Set(metrics.filter((m) => !m.endsWith('/*')))
  const prefixes = metrics.filter((m) => m.endsWith('/*')).map((m) => m.slice(0, -1))
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p))
}

/** Parse RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(field)
      field = ''
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += ch
  }
  if (field !== '' || row.length > 0) {
    row.push(field)
    rows.push(row)
  }
  return rows
}
