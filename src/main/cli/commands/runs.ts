import { RUNS_LIST_MAX, RunStatus } from '../../../shared/contract'
import { SERIES } from '../../../shared/metrics'
import { intFlag, stringFlag, UsageError, type Command } from '../args'
import { table } from '../format'
import { openStoreForCli } from '../store'
import { lifelongSummary } from '../../engine/metrics/lifelong'

export const runsCommand: Command = {
  name: 'runs',
  summary: 'List the runs in the experiment store, newest first.',
  usage: 'elle runs [--db FILE] [--status STATUS] [--limit N] [--json]',
  flags: {
    db: { type: 'string', description: 'experiment store (env: ELLE_DB; default: the data directory)' },
    status: { type: 'string', description: `only runs with this status (${RunStatus.options.join(', ')})` },
    limit: { type: 'string', description: 'at most N runs' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  async run({ values }) {
    const status = stringFlag(values.status)
    if (status !== undefined && !RunStatus.safeParse(status).success) {
      throw new UsageError(`--status must be one of ${RunStatus.options.join(', ')}, got "${status}"`)
    }
    const limit = intFlag(values.limit, 'limit', { min: 1, max: RUNS_LIST_MAX })
    const store = openStoreForCli(stringFlag(values.db), { readonly: true })
    try {
      const runs = store.listRuns({ status: status as RunStatus | undefined, limit })
      if (values.json) {
        // With --json every run carries its perplexity matrix and AP / AP+ curves (elle-method §16).
        const detailed = runs.map((r) => ({ ...r, lifelong: lifelongSummary(store.readMetrics(r.id)) }))
        console.log(JSON.stringify({ store: store.path, runs: detailed }, null, 2))
      } else if (runs.length === 0) console.log(`no runs yet in ${store.path}`)
      else {
        const rows = runs.map((r) => {
          const final = lifelongSummary([SERIES.ap, SERIES.apGeo, SERIES.apPlus].flatMap((name) => store.readMetrics(r.id, { name }))).final
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
        console.log(table(['id', 'experiment', 'status', 'backend', 'geo AP', 'AP', 'AP+', 'created', 'error'], rows))
      }
      return 0
    } finally {
      store.close()
    }
  }
}
