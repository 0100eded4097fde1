// `elle runs tag|untag|note|table`: a run's tags and note, and the runs table with a filter query
// (runs.table, runs.annotate; the query language is src/shared/run-query.ts, the same the workbench's table uses).
import { RUN_TAG_PATTERN, type RunTableRow } from '../../../shared/contract'
import { flattenRow } from '../../../shared/run-table'
import { filterRows, QueryError } from '../../../shared/run-query'
import { UsageError } from '../args'
import { table } from '../format'
import type { CliApi } from '../api'

export const RUNS_SUBCOMMANDS = ['tag', 'untag', 'note', 'table'] as const
export const RUNS_TABLE_USAGE = 'elle runs tag ID TAG... | untag ID TAG... | note ID TEXT... | table [--filter QUERY] [--json]'

function runId(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`ID must be a positive integer, got "${value ?? ''}"; usage: ${RUNS_TABLE_USAGE}`)
  return Number(value)
}

/** Check the arguments before the store is opened: bad usage never touches it. */
export function checkRunsSubcommand(sub: string, rest: readonly string[]): void {
  if (sub === 'table') {
    if (rest.length > 0) throw new UsageError(`usage: ${RUNS_TABLE_USAGE}`)
    return
  }
  runId(rest[0])
  if ((sub === 'tag' || sub === 'untag') && rest.length < 2) throw new UsageError(`elle runs ${sub} needs at least one TAG; usage: ${RUNS_TABLE_USAGE}`)
  if (sub === 'note' && rest.length < 2) throw new UsageError(`elle runs note needs the TEXT (use "" to clear it); usage: ${RUNS_TABLE_USAGE}`)
  if (sub !== 'note') for (const t of rest.slice(1)) if (!RUN_TAG_PATTERN.test(t)) throw new UsageError(`tag "${t}": a tag is 1-40 letters, digits, "_", "." or "-"`)
}

const describe = (r: RunTableRow): string => `run ${r.id}: tags ${r.tags.length ? r.tags.join(', ') : '(none)'}; note ${r.note ? JSON.stringify(r.note) : '(none)'}`

export async function runsSubcommand(api: CliApi, sub: string, rest: readonly string[], flags: { json: boolean; filter: string | undefined }): Promise<number> {
  if (sub === 'table') {
    const { rows } = await api.call('runs.table', {})
    let kept: RunTableRow[]
    try {
      kept = filterRows(rows, flags.filter ?? '', '', flattenRow)
    } catch (e) {
      if (e instanceof QueryError) throw new UsageError(`--filter: ${e.message}`)
      throw e
    }
    if (flags.json) console.log(JSON.stringify({ rows: kept }, null, 2))
    else {
      const num = (v: number | null | undefined) => (v == null ? null : v.toFixed(2))
      console.log(
        table(
          ['id', 'experiment', 'status', 'method', 'seed', 'geo AP', 'AP', 'tags', 'note'],
          kept.map((r) => [
            r.id,
            r.experiment,
            r.status,
            r.method,
            r.seed,
            num(r.final.ap_geo),
            num(r.final.ap),
            r.tags.join(',') || null,
            r.note.split('\n')[0]!.slice(0, 40) || null
          ])
        )
      )
    }
    return 0
  }
  const id = runId(rest[0])
  let row: RunTableRow
  if (sub === 'note') row = await api.call('runs.annotate', { id, note: rest.slice(1).join(' ') })
  else {
    const [current] = (await api.call('runs.table', { ids: [id] })).rows
    if (!current) throw new Error(`no run with id ${id}`)
    const given = rest.slice(1)
    const tags = sub === 'tag' ? [...current.tags, ...given] : current.tags.filter((t) => !given.includes(t))
    row = await api.call('runs.annotate', { id, tags: [...new Set(tags)] })
  }
  console.log(flags.json ? JSON.stringify(row, null, 2) : describe(row))
  return 0
}
