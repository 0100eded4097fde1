// `elle compare RUN_ID...`: AP, AP+, cost, downstream scores and compute saved for runs of one stream,
// as a table, JSON, or a standalone HTML report (docs/compare.md).
import fs from 'node:fs'
import path from 'node:path'
import { formatFlops, formatParams, formatScore, formatSeconds, formatValue } from '../../engine/api/facade'
import { latexApTable, latexDownstreamTable } from '../../../shared/export/latex'
import { downstreamKey, downstreamMetricLabel } from '../../../shared/downstream'
import { evaluationSentence, formatWithInterval } from '../../../shared/plot'
import { COMPARE_MAX_RUNS } from '../../../shared/contract'
import { stringFlag, UsageError, type Command } from '../args'
import { table } from '../format'
import { openCliApi } from '../api'

/** stat, or undefined when nothing is there (ENOTDIR too: a path through a file names nothing) */
function statIfAny(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw error
  }
}

/**
 * The report's absolute path, checked before any work: a directory, or a folder path that runs into a
 * file, is a usage error. Missing folders are fine (docs/compare.md): they are created when writing.
 */
function reportTarget(file: string, flag = 'report', example = 'report.html'): string {
  const target = path.resolve(file)
  const stat = statIfAny(target)
  if (stat?.isDirectory()) throw new UsageError(`--${flag} ${file} is a directory; give a file name, e.g. ${path.join(file, example)}`)
  if (stat && !stat.isFile()) throw new UsageError(`--${flag} ${file} exists and is not a regular file`)
  let folder = path.dirname(target)
  let found = statIfAny(folder)
  while (found === undefined && path.dirname(folder) !== folder) {
    folder = path.dirname(folder)
    found = statIfAny(folder)
  }
  if (found && !found.isDirectory()) throw new UsageError(`--${flag} ${file}: ${folder} is a file, not a folder`)
  return target
}

/** Write through a temp file and a rename, so a reader never sees half a report; the temp never outlives a failure. */
function writeAtomically(target: string, content: string): void {
  const tmp = `${target}.${process.pid}.tmp`
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(tmp, content)
    fs.renameSync(tmp, target)
  } catch (error) {
    try {
      fs.rmSync(tmp, { force: true })
    } catch {
      // the write's own error is the one to report
    }
    throw error
  }
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare runs of one stream: AP, AP+, wall time, FLOPs, downstream, compute saved.',
  usage: 'elle compare RUN_ID... [--db FILE] [--json] [--report FILE.html [--reference RUN_ID]] [--csv FILE.csv [--metrics LIST]] [--latex FILE.tex]',
  methods: ['runs.compare', 'runs.report', 'runs.exportCsv'],
  flags: {
    db: { type: 'string', description: 'experiment store (env: ELLE_DB; default: the data directory)' },
    json: { type: 'boolean', description: 'print the comparison as JSON' },
    report: { type: 'string', description: 'also write a standalone HTML report (plots, heat maps, tables) to FILE' },
    reference: { type: 'string', description: 'with --report: the downstream table tests every run against this one (default: the first)' },
    csv: { type: 'string', description: 'also write every point of the runs’ series as long-format CSV to FILE' },
    metrics: { type: 'string', description: 'with --csv: the series to write, comma-separated; `ppl/*` for a family (default: all)' },
    latex: { type: 'string', description: 'also write the AP/AP+ and downstream tables as LaTeX (booktabs) to FILE' }
  },
  positionals: { name: 'RUN_ID', min: 1, max: COMPARE_MAX_RUNS, missing: 'give at least one run id, e.g. elle compare 3 7' },
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError('give at least one run id, e.g. elle compare 3 7')
    const ids = positionals.map((p) => {
      if (!/^\d+$/.test(p) || Number(p) < 1 || !Number.isSafeInteger(Number(p))) throw new UsageError(`run ids are positive integers, got "${p}"`)
      return Number(p)
    })
    if (values.report !== undefined && typeof values.report !== 'string') throw new UsageError('--report needs a file name')
    const reportFile = stringFlag(values.report)
    if (reportFile !== undefined && reportFile.trim() === '') throw new UsageError('--report needs a file name')
    const report = reportFile === undefined ? null : reportTarget(reportFile) // refused before any work
    const referenceFlag = stringFlag(values.reference)
    if (referenceFlag !== undefined && report === null) throw new UsageError('--reference applies to --report only')
    if (referenceFlag !== undefined && !(/^\d+$/.test(referenceFlag) && ids.includes(Number(referenceFlag))))
      throw new UsageError(`--reference must be one of the compared run ids (${ids.join(', ')}), got "${referenceFlag}"`)
    const reference = referenceFlag === undefined ? undefined : Number(referenceFlag)
    const fileFlag = (name: 'csv' | 'latex', example: string): string | null => {
      const v = values[name]
      if (v === undefined) return null
      if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} needs a file name`)
      return reportTarget(v, name, example)
    }
    const csvFile = fileFlag('csv', 'series.csv')
    const latexFile = fileFlag('latex', 'tables.tex')
    const metricsFlag = stringFlag(values.metrics)
    if (metricsFlag !== undefined && csvFile === null) throw new UsageError('--metrics applies to --csv only')
    const metrics = metricsFlag
      ?.split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '')
    if (metrics !== undefined && metrics.length === 0) throw new UsageError('--metrics needs at least one series name, e.g. --metrics ap,ap_geo,ppl/*')
    const api = await openCliApi(compareCommand, { db: stringFlag(values.db), readonly: true })
    try {
      const comparison = await api.call('runs.compare', { ids })
      let written: string | null = null
      if (report !== null) {
        writeAtomically(report, (await api.call('runs.report', { ids, ...(reference === undefined ? {} : { reference }) })).html)
        written = report
      }
      let csvRows: number | null = null
      if (csvFile !== null) {
        const out = await api.call('runs.exportCsv', { ids, ...(metrics ? { metrics } : {}) })
        writeAtomically(csvFile, out.csv)
        csvRows = out.rows
      }
      if (latexFile !== null)
        writeAtomically(latexFile, latexApTable(comparison) + (comparison.runs.some((r) => r.downstream.length > 0) ? `\n${latexDownstreamTable(comparison)}` : ''))
      if (values.json) {
        console.log(JSON.stringify({ store: api.storePath, report: written, csv: csvFile, csvRows, latex: latexFile, ...comparison }, null, 2))
        return 0
      }
      console.log(`stream: ${comparison.stream.join(' → ')}`)
      console.log('')
      console.log(
        table(
          ['run', 'experiment', 'method', 'seed', 'status', 'geo AP [95% CI]', 'AP [95% CI]', 'AP+ [95% CI]', 'domains', 'wall', 'FLOPs', 'params'],
          comparison.runs.map((r) => [
            r.id,
            r.experimentName,
            r.elle ? `${r.method} (ELLE)` : r.method,
            r.seed,
            r.status,
            formatWithInterval(r.final.apGeo, r.final.ci.apGeo, 2),
            formatWithInterval(r.final.ap, r.final.ci.ap, 2),
            formatWithInterval(r.final.apPlus, r.final.ci.apPlus, 2),
            `${r.final.domainsSeen}/${comparison.stream.length}`,
            formatSeconds(r.totals.wallS),
            formatFlops(r.totals.flops),
            `${formatParams(r.phases[0]?.params)} → ${formatParams(r.totals.params)}`
          ])
        )
      )
      console.log('')
      console.log('evaluated (final validation; intervals: 95% bootstrap over validation documents):')
      for (const r of comparison.runs) console.log(`  #${r.id} ${r.method}: ${evaluationSentence(r.evaluation)}`)
      console.log('')
      console.log(`ranking by ${comparison.headline.why}`)
      if (comparison.differences.length === 0) console.log('differences: fewer than two methods with runs of a common seed')
      else {
        console.log('differences between methods (a − b, paired by seed; marked only when the 95% interval excludes 0):')
        for (const d of comparison.differences) {
          const seeds = `${d.pairs.length} seed${d.pairs.length === 1 ? '' : 's'}${d.basis === 'one-seed-intervals' ? ', from the two runs’ own intervals' : ''}`
          console.log(`  ${METRIC_LABEL[d.metric]}: ${d.verdict} [${seeds}]`)
        }
      }
      const rows = new Map(comparison.runs.flatMap((r) => r.downstream.map((d) => [downstreamKey(d), d] as const)))
      const keys = [...rows.keys()]
      console.log('')
      if (keys.length === 0) console.log('downstream: no results stored for these runs')
      else {
        console.log('downstream (mean ± std over seeds):')
        console.log(
          table(
            ['task', 'domain', 'metric', 'checkpoint', ...comparison.runs.map((r) => `#${r.id} ${r.method}`)],
            keys.map((key) => {
              const row = rows.get(key)!
              return [
                row.task,
                row.domain,
                downstreamMetricLabel(row),
                row.checkpointId === null ? 'final' : `step ${row.checkpointStep ?? '?'}`,
                ...comparison.runs.map((r) => {
                  const d = r.downstream.find((x) => downstreamKey(x) === key)
                  return d ? formatScore(d.mean, d.std, d.seeds) : null
                })
              ]
            })
          )
        )
      }
      console.log('')
      if (comparison.computeSaved.length === 0) console.log('compute saved: no ELLE run among these (no growth in the config, no method "elle")')
      else {
        console.log('compute saved:')
        for (const s of comparison.computeSaved) console.log(`  ${s.sentence}`)
      }
      const transfers = comparison.runs.filter((r) => r.transfer)
      if (transfers.length > 0) {
        console.log('')
        console.log('downstream transfer (accuracy, the latest forgetting matrix; Lopez-Paz & Ranzato 2017):')
        const signed = (v: number | null) => (v === null ? '–' : `${v > 0 ? '+' : ''}${v.toFixed(3)}`)
        for (const r of transfers)
          console.log(`  #${r.id} ${r.method}: BWT ${signed(r.transfer!.bwt)}, FWT ${signed(r.transfer!.fwt)} (job ${r.transfer!.jobId}, ${r.transfer!.seeds} seeds)`)
      }
      if (written) console.log(`\nreport written to ${written}`)
      if (csvFile !== null) console.log(`${written ? '' : '\n'}CSV written to ${csvFile} (${csvRows} rows)`)
      if (latexFile !== null) console.log(`LaTeX tables written to ${latexFile}`)
      return 0
    } finally {
      await api.close()
    }
  }
}

const METRIC_LABEL = { apGeo: 'geo AP', ap: 'AP', apPlus: 'AP+' } as const
