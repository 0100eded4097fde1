import { SERIES_QUERY_MAX_BUCKETS, SERIES_QUERY_MAX_RUNS, type SeriesQuery } from '../../../shared/series'
import { X_AXES, type XAxisKind } from '../../../shared/charts/types'
import { BAND_KINDS, GROUP_BY, GROUP_STATS, SMOOTHING_KINDS, type Grouping, type Smoothing } from '../../../shared/view-state'
import { intFlag, stringFlag, UsageError, type Command } from '../args'
import { table } from '../format'
import { openCliApi } from '../api'

const number = (value: string | boolean | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined
  const n = typeof value === 'string' ? Number(value) : NaN
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${String(value)}"`)
  return n
}

const show = (v: number | null | undefined): string =>
  v === null || v === undefined ? '–' : Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(5))

export const seriesCommand: Command = {
  name: 'series',
  summary: 'Curves of runs: any series against step, tokens, wall time or FLOPs, bucketed, smoothed, grouped.',
  usage: 'elle series RUN_ID... [--metric NAME,...] [--x step|tokens|wall|flops] [--from X --to X] [--buckets N] [--smooth KIND --param P] [--group-by BY] [--json]',
  methods: ['runs.series'],
  flags: {
    db: { type: 'string', description: 'experiment store (env: ELLE_DB; default: the data directory)' },
    metric: { type: 'string', description: 'series names, comma-separated (loss, ap_geo, ppl/<domain>, lr, ...); default ap_geo' },
    x: { type: 'string', description: 'x axis (default step)', choices: X_AXES },
    from: { type: 'string', description: 'start of the x range (with --to)', requires: 'to' },
    to: { type: 'string', description: 'end of the x range (with --from)', requires: 'from' },
    buckets: { type: 'string', description: `drawn points per line (default 800, at most ${SERIES_QUERY_MAX_BUCKETS}); every point is counted in min/max` },
    smooth: { type: 'string', description: 'smoothing', choices: SMOOTHING_KINDS },
    param: { type: 'string', description: 'EMA weight in [0,1), or window / sigma in points' },
    'group-by': { type: 'string', description: 'group runs over seeds', choices: GROUP_BY },
    stat: { type: 'string', description: 'group statistic (default mean)', choices: GROUP_STATS },
    band: { type: 'string', description: 'group band (default ci95)', choices: BAND_KINDS },
    json: { type: 'boolean', description: 'print the result as JSON' }
  },
  positionals: { name: 'RUN_ID', min: 1, max: SERIES_QUERY_MAX_RUNS, missing: 'give at least one run id, e.g. elle series 3 7 --metric loss' },
  async run({ values, positionals }) {
    const runs = positionals.map((p) => {
      if (!/^\d+$/.test(p) || Number(p) < 1 || !Number.isSafeInteger(Number(p))) throw new UsageError(`run ids are positive integers, got "${p}"`)
      return Number(p)
    })
    const metrics = (stringFlag(values.metric) ?? 'ap_geo')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m.length > 0)
    if (metrics.length === 0) throw new UsageError('--metric needs at least one series name, e.g. --metric loss,ap_geo')
    const from = number(values.from, 'from')
    const to = number(values.to, 'to')
    const smoothKind = stringFlag(values.smooth) as Smoothing['kind'] | undefined
    const smoothing: Smoothing | undefined = smoothKind ? { kind: smoothKind, param: number(values.param, 'param') ?? (smoothKind === 'ema' ? 0.6 : 10) } : undefined
    const by = stringFlag(values['group-by']) as Grouping['by'] | undefined
    const grouping: Grouping | undefined = by
      ? { by, stat: (stringFlag(values.stat) as Grouping['stat'] | undefined) ?? 'mean', band: (stringFlag(values.band) as Grouping['band'] | undefined) ?? 'ci95', members: false }
      : undefined
    const query: SeriesQuery = {
      runs,
      metrics,
      x: (stringFlag(values.x) as XAxisKind | undefined) ?? 'step',
      range: from !== undefined && to !== undefined ? [from, to] : null,
      buckets: intFlag(values.buckets, 'buckets', { min: 10, max: SERIES_QUERY_MAX_BUCKETS }),
      smoothing,
      grouping
    }
    const api = await openCliApi(seriesCommand, { db: stringFlag(values.db), readonly: true })
    try {
      const result = await api.call('runs.series', query)
      if (values.json) {
        console.log(JSON.stringify(result))
        return 0
      }
      for (const chart of result.charts) {
        console.log(`${chart.yLabel} against ${result.xLabel}`)
        const extent = chart.extent ? `${show(chart.extent[0])} … ${show(chart.extent[1])}` : 'no points'
        console.log(
          table(
            ['line', 'points', 'drawn', 'first x', 'last x', 'first', 'last', 'min', 'max'],
            chart.lines.map((l) => {
              const finite = l.y.filter((v): v is number => v !== null)
              const lows = (l.min ?? l.y).filter((v): v is number => v !== null)
              const highs = (l.max ?? l.y).filter((v): v is number => v !== null)
              return [
                `${l.role === 'group' ? 'group ' : ''}${l.label}`,
                l.points,
                l.x.length,
                show(l.x[0]),
                show(l.x.at(-1)),
                show(finite[0]),
                show(finite.at(-1)),
                show(lows.length ? Math.min(...lows) : null),
                show(highs.length ? Math.max(...highs) : null)
              ]
            })
          )
        )
        console.log(`x extent: ${extent}`)
        if (chart.markers.length) console.log(`markers: ${chart.markers.map((m) => `${m.label}@${show(m.x)}${m.detail ? ` (${m.detail})` : ''}`).join(', ')}`)
        console.log('')
      }
      return 0
    } finally {
      await api.close()
    }
  }
}
