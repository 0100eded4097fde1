// Plain-text rendering for terminal output: aligned tables and short backend summaries.
import type { BackendReport } from '../../shared/contract'

export function table(headers: string[], rows: Array<Array<string | number | null>>): string {
  const cells = rows.map((row) => row.map((c) => (c === null ? '-' : String(c))))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)))
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

export function describeBackend(report: BackendReport): string {
  const lines = [
    `active backend: ${report.active} (${report.threads} thread${report.threads === 1 ? '' : 's'}; chosen ${report.requestedBy === 'auto' ? 'automatically' : `by ${report.requestedBy === 'flag' ? '--backend' : 'ELLE_BACKEND'}`})`
  ]
  for (const c of report.candidates) {
    lines.push(`  ${c.name.padEnd(15)}${c.status.padEnd(10)}${c.reason ?? c.package}`)
  }
  const m = report.matmul
  lines.push(`matmul kernel: ${m.kernel} (${m.detail})`)
  if (m.skipped) lines.push(`  faster kernel skipped: ${m.skipped}`)
  return lines.join('\n')
}
