import { RUNS_LIST_MAX, RunStatus } from '../../../shared/contract'
import { SERIES } from '../../../shared/metrics'
import { intFlag, stringFlag, UsageError, type Command } from '../args'
import { table } from '../format'
import { openCliApi } from '../api'
import { lifelongSummary } from '../../engine/api/facade'
import { checkRunsSubcommand, RUNS_SUBCOMMANDS, RUNS_TABLE_USAGE, runsSubcommand } from './runs-table'

export const runsCommand: Command = {
  name: 'runs',
  summary: 'List the runs in the experiment store, newest first; tag them, note them, filter the runs table.',
  usage: `elle runs [--db FILE] [--status STATUS] [--limit N] [--json] | ${RUNS_TABLE_USAGE}`,
  methods: ['runs.list', 'runs.metrics', 'runs.table', 'runs.annotate'],
  flags: {
    db: { type: 'string', description: 'experiment store (env: ELLE_DB; default: the data directory)' },
    status: { type: 'string', description: `only runs with this status (${RunStatus.options.join(', ')})` },
    limit: { type: 'string', description: 'at most N runs' },
    json: { type: 'boolean', description: 'print JSON' },
    filter: { type: 'string', description: 'table: a filter query, e.g. "method = elle and seed < 3"' }
  },
  positionals: { name: 'SUBCOMMAND ARGS...', min: 0, max: Infinity },
  async run({ values, positionals }) {
    const [sub, ...rest] = positionals
    if (sub !== undefined) {
      if (!(RUNS_SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown subcommand "${sub}"; usage: ${RUNS_TABLE_USAGE}`)
      if (values.status !== undefined || values.limit !== undefined) throw new UsageError('--status and --limit go with the plain run list (elle runs)')
      checkRunsSubcommand(sub, rest)
      const api = await openCliApi(runsCommand, { db: stringFlag(values.db), readonly: sub === 'table' })
      try {
        return await runsSubcommand(api, sub, rest, { json: values.json === true, filter: stringFlag(values.filter) })
      } finally {
        await api.close()
      }
    }
    if (values.filter !== undefined) throw new UsageError('--filter goes with elle runs table')
    const status = stringFlag(values.status)
    if (status !== undefined && !RunStatus.safeParse(status).success) {
      throw new UsageError(`--status must be one of ${RunStatus.options.join(', ')}, got "${status}"`)
    }
    const limit = intFlag(values.limit, 'limit', { min: 1, max: RUNS_LIST_MAX })
    const api = await openCliApi(runsCommand, { db: stringFlag(values.db), readonly: true })
    try {
      const { runs } = await api.call('runs.list', { status: status as RunStatus | undefined, limit })
      // a run's metric series as points, whole (no thinning), for the lifelong summary
      const points = async (id: number, names?: string[]) =>
        (await api.call('runs.metrics', { id, names, maxPoints: 100_000 })).series.flatMap((s) =>
          s.step.map((step, i) => ({ name: s.name, step, value: s.value[i]!, wallS: s.wallS[i]!, flops: s.flops[i]!, phase: s.phase[i]! }))
        )
      if (values.json) {
        // With --json every run carries its perplexity matrix and AP / AP+ curves (elle-method §16).
        const detailed = await Promise.all(runs.map(async (r) => ({ ...r, lifelong: lifelongSummary(await points(r.id)) })))
        console.log(JSON.stringify({ store: api.storePath, runs: detailed }, null, 2))
      } else if (runs.length === 0) console.log(`no runs yet in ${api.storePath}`)
      else {
        const rows = await Promise.all(
          runs.map(async (r) => {
            const final = lifelongSummary(await points(r.id, [SERIES.ap, SERIES.apGeo, SERIES.apPlus])).final
            return [
              r.id,
              r.experimentName,
              r.status,
              r.backend,
              final.apGeo?.toFixed(2) ?? null,
              final.ap?.toFixed(2) ?? null,
              final.apPlus?.toFixed(2) ?? null,
              r.createdAt,
              r.error
            ]
          })
        )
        console.log(table(['id', 'experiment', 'status', 'backend', 'geo AP', 'AP', 'AP+', 'created', 'error'], rows))
      }
      return 0
    } finally {
      await api.close()
    }
  }
}
