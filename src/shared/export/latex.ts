// LaTeX (booktabs) for the paper-style tables of a comparison: final AP / AP+ / geometric AP with their
// intervals, and downstream scores with the best per task in bold. Every text from the store is escaped.
import type { RunComparison } from '../contract'
import { downstreamRows } from '../lifelong/downstream'
import { formatValue } from '../plot'

const SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}'
}

/** Text safe in a LaTeX table cell: the ten special characters escaped, line breaks as spaces. */
export function latexEscape(s: string): string {
  return s.replace(/[\\&%$#_{}~^]/g, (c) => SPECIAL[c]!).replace(/\r?\n/g, ' ')
}

const num = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '--' : formatValue(v, digits))
const withCi = (v: number | null, ci: { lo: number; hi: number } | null): string => (ci ? `${num(v)} {\\small [${num(ci.lo)}, ${num(ci.hi)}]}` : num(v))

function table(caption: string, label: string, align: string, head: string[], rows: string[][]): string {
  return [
    '% needs \\usepackage{booktabs}',
    '\\begin{table}[t]',
    '\\centering',
    `\\caption{${latexEscape(caption)}}`,
    `\\label{${label}}`,
    `\\begin{tabular}{${align}}`,
    '\\toprule',
    `${head.join(' & ')} \\\\`,
    '\\midrule',
    ...rows.map((r) => `${r.join(' & ')} \\\\`),
    '\\bottomrule',
    '\\end{tabular}',
    '\\end{table}',
    ''
  ].join('\n')
}

/** Final geometric AP, AP and AP+ per run (lower is better), the best geometric AP in bold. */
export function latexApTable(c: Pick<RunComparison, 'runs' | 'stream'>): string {
  const best = Math.min(...c.runs.map((r) => r.final.apGeo ?? Infinity))
  const rows = c.runs.map((r) => {
    const geo = withCi(r.final.apGeo, r.final.ci.apGeo)
    return [
      latexEscape(`#${r.id}`),
      latexEscape(r.method) + (r.elle ? ' (ELLE)' : ''),
      latexEscape(r.experimentName),
      r.seed === null ? '--' : String(r.seed),
      c.runs.length > 1 && r.final.apGeo === best ? `\\textbf{${geo}}` : geo,
      withCi(r.final.ap, r.final.ci.ap),
      withCi(r.final.apPlus, r.final.ci.apPlus),
      `${r.final.domainsSeen}/${c.stream.length}`
    ]
  })
  return table(
    'Final perplexity over the stream (lower is better; 95% bootstrap intervals over validation documents).',
    'tab:elle-ap',
    'lllrrrrr',
    ['Run', 'Method', 'Experiment', 'Seed', 'Geo AP', 'AP', 'AP+', 'Domains'],
    rows
  )
}

/** Downstream scores (mean ± std over fine-tuning seeds), a column per run, the best per task in bold. */
export function latexDownstreamTable(c: Pick<RunComparison, 'runs'>): string {
  const rows = downstreamRows(c.runs, null).map((row) => [
    latexEscape(row.task),
    latexEscape(row.domain),
    latexEscape(row.metric),
    ...row.cells.map((cell) => {
      if (cell === null) return '--'
      const digits = Math.abs(cell.mean) <= 1 ? 3 : 1
      const text = `${cell.mean.toFixed(digits)}${cell.std === null ? '' : ` $\\pm$ ${cell.std.toFixed(digits)}`}`
      return cell.best ? `\\textbf{${text}}` : text
    })
  ])
  return table(
    'Downstream scores after fine-tuning (mean and standard deviation over seeds; best per task in bold).',
    'tab:elle-downstream',
    `lll${'r'.repeat(c.runs.length)}`,
    ['Task', 'Domain', 'Metric', ...c.runs.map((r) => latexEscape(`#${r.id} ${r.method}`))],
    rows
  )
}
