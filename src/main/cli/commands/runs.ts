import { RUNS_LIST_MAX, RunStatus } from '../../../shared/contract'
import { SERIES } from '../../../shared/metrics'
import { intFlag, stringFlag, UsageError, type Command } from '../args'
import { table } from '../format'
import { openCliApi } from '../api'
import { lifelongSummary } from '../../engine/api/facade'

export const runsCommand: Command = {
  name: 'runs',
  summary: 'List the runs in the experiment store, newest first.',
  usage: 'elle runs [--db FILE] [--status STATUS] [--limit N] [--json]',
  methods: ['runs.list', 'runs.metrics'],
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
