// The standalone HTML report of a comparison: inline <style> and inline SVG only (no scripts, no external
// resources), so it opens anywhere and can be mailed or archived as one file. Its charts are the Compare
// view's (src/shared/charts), rendered to SVG on the server.
import { apCurves, matrixHeatmaps, matrixRows } from '../../../shared/charts/compare'
import { runColor } from '../../../shared/charts/palette'
import type { ComparedRun, RunComparison } from '../../../shared/contract'
import { formatSi } from '../../../shared/charts/format'
import { downstreamRows } from '../../../shared/lifelong/downstream'
import { savedRow } from '../../../shared/lifelong/saved'
import { stageAp } from '../../../shared/lifelong/stage'
import { runTransfer } from '../../../shared/lifelong/transfer'
import { evaluationSentence, formatFlops, formatParams, formatScore, formatSeconds, formatValue, formatWithInterval } from '../../../shared/plot'
import { curveSvg, escapeHtml, heatmapSvg } from './svg'

const CSS = `
  :root { color-scheme: light; }
  body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1d2733; background: #f6f7f9; margin: 0; }
  main { max-width: 1360px; margin: 0 auto; padding: 28px 32px 48px; }
  h1 { font-size: 24px; margin: 0 0 4px; }
  h3 { font-size: 14px; margin: 0 0 8px; }
  h2 { font-size: 17px; margin: 30px 0 10px; border-bottom: 1px solid #dde2e8; padding-bottom: 6px; }
  .sub { color: #5d6b7a; margin: 0; }
  .stream { display: inline-flex; flex-wrap: wrap; gap: 6px; margin-top: 10px; }
  .stream span { background: #e7edf4; border-radius: 12px; padding: 2px 10px; font-size: 12px; }
  .saved { background: #fff; border-left: 4px solid #2e9d57; padding: 10px 16px; margin: 8px 0; border-radius: 4px; }
  .saved.miss { border-left-color: #d1495b; }
  table { border-collapse: collapse; background: #fff; border-radius: 6px; overflow: hidden; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
  th, td { padding: 6px 12px; border-bottom: 1px solid #eceff3; text-align: right; white-space: nowrap; }
  th { background: #eef2f6; color: #4a5867; font-weight: 600; font-size: 12px; }
  th:first-child, td:first-child, td.text { text-align: left; }
  td.best { font-weight: 700; color: #1f6fb4; }
  td .verdict { font-size: 11px; font-weight: 400; color: #777; }
  td.sig .verdict { color: inherit; font-weight: 600; }
  tr.miss td { color: #d1495b; }
  tr.noise td { color: #777; }
  tr.significant td { font-weight: 600; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
  .plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(600px, 1fr)); gap: 16px; }
  .card { background: #fff; border-radius: 6px; padding: 12px; box-shadow: 0 1px 2px rgba(0,0,0,.06); overflow-x: auto; }
  .maps { display: flex; flex-wrap: wrap; gap: 16px; }
  .card svg { max-width: 100%; height: auto; }
  .muted { color: #5d6b7a; }
  footer { margin-top: 36px; color: #8796a5; font-size: 12px; }
`

// the run's colour everywhere (views, report, exported files)
const colorOf = (_c: RunComparison, id: number): string => runColor(id)

/** Rows of the heat map: stage ends when there are any (the paper's view), else every validation. */
export const heatmapRows = (run: ComparedRun, stream: readonly string[]): { labels: string[]; values: Array<Array<number | null>> } => matrixRows(run, stream)

function summaryTable(c: RunComparison): string {
  const bestGeo = Math.min(...c.runs.map((r) => r.final.apGeo ?? Infinity))
  const rows = c.runs
    .map(
      (r) => `<tr>
      <td><span class="swatch" style="background:${colorOf(c, r.id)}"></span>#${r.id}</td>
      <td class="text">${escapeHtml(r.experimentName)}</td>
      <td class="text">${escapeHtml(r.method)}${r.elle ? ' (ELLE)' : ''}</td>
      <td>${r.seed ?? '–'}</td>
      <td class="text">${r.status}</td>
      <td class="${r.final.apGeo === bestGeo ? 'best' : ''}">${formatWithInterval(r.final.apGeo, r.final.ci.apGeo)}</td>
      <td>${formatWithInterval(r.final.ap, r.final.ci.ap)}</td>
      <td>${formatWithInterval(r.final.apPlus, r.final.ci.apPlus)}</td>
      <td>${r.final.domainsSeen}/${c.stream.length}</td>
      <td>${formatSeconds(r.totals.wallS)}</td>
      <td>${formatFlops(r.totals.flops)}</td>
      <td>${formatParams(r.phases[0]?.params)} → ${formatParams(r.totals.params)}</td>
      <td>${r.totals.steps}</td>
    </tr>`
    )
    .join('')
  return `<table class="summary"><thead><tr><th>run</th><th>experiment</th><th>method</th><th>seed</th><th>status</th><th>final geometric AP ↓ [95% CI]</th><th>final AP ↓ [95% CI]</th><th>final AP+ ↓ [95% CI]</th><th>domains</th><th>wall time</th><th>FLOPs</th><th>params</th><th>steps</th></tr></thead><tbody>${rows}</tbody></table>`
}

const METRIC_LABEL = { apGeo: 'geometric AP', ap: 'AP', apPlus: 'AP+' } as const

/** Differences between methods, paired by seed: marked only when the 95% interval excludes zero. */
function differencesTable(c: RunComparison): string {
  if (c.differences.length === 0) return `<p class="muted">No two methods have runs of a common seed, so no difference is computed.</p>`
  const rows = c.differences
    .map(
      (d) => `<tr class="${d.significant ? 'significant' : 'noise'}">
      <td class="text">${METRIC_LABEL[d.metric]}</td>
      <td class="text">${escapeHtml(d.a)} − ${escapeHtml(d.b)}</td>
      <td>${formatValue(d.mean, 2)}</td>
      <td>[${formatValue(d.lo, 2)}, ${formatValue(d.hi, 2)}]</td>
      <td>${d.pairs.length}${d.basis === 'one-seed-intervals' ? ' (runs’ own intervals)' : ''}</td>
      <td class="text">${d.significant ? (d.mean < 0 ? `${escapeHtml(d.a)} lower` : `${escapeHtml(d.b)} lower`) : 'within noise'}</td>
    </tr>`
    )
    .join('')
  return `<table class="summary"><thead><tr><th>metric</th><th>a − b</th><th>mean</th><th>95% CI</th><th>seeds</th><th>verdict</th></tr></thead><tbody>${rows}</tbody></table>`
}

function evaluatedList(c: RunComparison): string {
  return `<ul class="evaluated">${c.runs.map((r) => `<li>#${r.id} ${escapeHtml(r.method)}: ${escapeHtml(evaluationSentence(r.evaluation))}</li>`).join('')}</ul>`
}

function phaseTable(c: RunComparison): string {
  const rows = c.runs
    .flatMap((r) =>
      r.phases.map(
        (p, i) => `<tr>
        <td>${i === 0 ? `<span class="swatch" style="background:${colorOf(c, r.id)}"></span>#${r.id}` : ''}</td>
        <td class="text">${escapeHtml(p.kind)}${p.stage === null ? '' : ` ${p.stage}`}</td>
        <td class="text">${escapeHtml(p.domain ?? '')}</td>
        <td>${p.startStep}–${p.endStep}</td>
        <td>${formatParams(p.params)}</td>
        <td>${formatSeconds(p.wallS)}</td>
        <td>${formatFlops(p.flops)}</td>
      </tr>`
      )
    )
    .join('')
  return `<table class="phases"><thead><tr><th>run</th><th>phase</th><th>domain</th><th>steps</th><th>params</th><th>wall time</th><th>FLOPs</th></tr></thead><tbody>${rows}</tbody></table>`
}

/**
 * The downstream table: one row per task / domain / metric (and checkpoint), one column per run, the best per
 * row marked, and each run tested against the reference run (Welch over fine-tuning seeds): the Compare view's
 * rows (src/shared/lifelong/downstream.ts).
 */
export function downstreamTable(c: RunComparison, referenceId: number | null = c.runs[0]?.id ?? null): string {
  const rows = downstreamRows(c.runs, referenceId)
  if (rows.length === 0) return '<p class="muted" id="downstream-empty">No downstream results are stored for these runs.</p>'
  const withCkpt = rows.some((k) => k.checkpoint !== 'final')
  const testing = c.runs.length > 1 && c.runs.some((r) => r.id === referenceId)
  const body = rows
    .map(
      (k) =>
        `<tr data-key="${escapeHtml(k.key)}"><td class="text">${escapeHtml(k.task)}</td><td class="text">${escapeHtml(k.domain)}</td><td class="text">${escapeHtml(k.metric)}</td>${withCkpt ? `<td>${escapeHtml(k.checkpoint)}</td>` : ''}${k.cells
          .map((d) =>
            d
              ? `<td data-run="${d.runId}" class="${[d.best ? 'best' : '', d.test?.significant ? 'sig' : ''].join(' ').trim()}">${formatScore(d.mean, d.std, d.seeds)}${testing ? `<div class="verdict">${escapeHtml(d.verdict ?? 'reference')}</div>` : ''}</td>`
              : '<td>–</td>'
          )
          .join('')}</tr>`
    )
    .join('')
  const heads = c.runs
    .map(
      (r) => `<th><span class="swatch" style="background:${colorOf(c, r.id)}"></span>#${r.id} ${escapeHtml(r.method)}${testing && r.id === referenceId ? ' (reference)' : ''}</th>`
    )
    .join('')
  return `<table class="downstream" id="downstream-table"><thead><tr><th>task</th><th>domain</th><th>metric</th>${withCkpt ? '<th>checkpoint</th>' : ''}${heads}</tr></thead><tbody>${body}</tbody></table>
  <p class="muted">Mean ± sample standard deviation over fine-tuning seeds (n seeds); higher is better; the best per task in bold.${testing ? ` Against the reference run #${referenceId}: Welch's t test over fine-tuning seeds, two-sided, 5% level.` : ''}</p>`
}

/** AP, AP+ and geometric AP at each stage end of every run, with their 95% intervals (the stage panel's rows). */
function stageTables(c: RunComparison): string {
  return c.runs
    .map((r) => {
      const rows = stageAp(r)
      const head = `<h3><span class="swatch" style="background:${colorOf(c, r.id)}"></span>#${r.id} ${escapeHtml(r.method)} · ${escapeHtml(r.experimentName)}</h3>`
      if (rows.length === 0) return `<div class="card">${head}<p class="muted">No stage has ended yet.</p></div>`
      const body = rows
        .map(
          (x) =>
            `<tr data-step="${x.step}"><td class="text">${x.stage === null ? '–' : x.stage + 1}. ${escapeHtml(x.domain ?? '')}</td><td>${x.step}</td><td>${x.tokens === null ? '–' : formatSi(x.tokens)}</td><td>${formatSeconds(x.wallS)}</td><td>${formatFlops(x.flops)}</td><td class="apGeo">${formatWithInterval(x.apGeo, x.ci.apGeo)}</td><td class="ap">${formatWithInterval(x.ap, x.ci.ap)}</td><td class="apPlus">${formatWithInterval(x.apPlus, x.ci.apPlus)}</td></tr>`
        )
        .join('')
      return `<div class="card">${head}<table class="stages" id="stages-${r.id}"><thead><tr><th>after</th><th>step</th><th>tokens</th><th>wall time</th><th>FLOPs</th><th>geometric AP ↓ [95% CI]</th><th>AP ↓ [95% CI]</th><th>AP+ ↓ [95% CI]</th></tr></thead><tbody>${body}</tbody></table></div>`
    })
    .join('')
}

const signed = (v: number | null): string => (v === null ? '–' : `${v > 0 ? '+' : ''}${v.toFixed(3)}`)

/** BWT, FWT and forgetting of each run's stored downstream forgetting matrix (the stage panel's transfer line). */
function transferTable(c: RunComparison): string {
  const withMatrix = c.runs.flatMap((r) => {
    const t = runTransfer(r.transfer)
    return t ? [{ r, t }] : []
  })
  if (withMatrix.length === 0)
    return '<p class="muted" id="transfer-empty">No forgetting matrix is stored for these runs (start one with <code>elle finetune --run ID</code> or from the run’s page).</p>'
  const body = withMatrix
    .map(
      ({ r, t }) =>
        `<tr data-run="${r.id}"><td><span class="swatch" style="background:${colorOf(c, r.id)}"></span>#${r.id}</td><td class="text">${escapeHtml(r.method)}</td><td>${t.stored.jobId}</td><td>${t.stored.seeds}</td><td class="bwt">${signed(t.stored.bwt)}</td><td class="fwt">${signed(t.stored.fwt)}</td><td class="forgetting">${signed(t.summary.meanForgetting)}</td><td class="text per-domain">${escapeHtml(t.summary.forgetting.map((f, j) => `${t.stored.domains[j]} ${signed(f)}`).join(', ') || '–')}</td></tr>`
    )
    .join('')
  return `<table class="transfer" id="transfer-table"><thead><tr><th>run</th><th>method</th><th>job</th><th>seeds</th><th>BWT</th><th>FWT</th><th>mean forgetting</th><th>forgetting per task</th></tr></thead><tbody>${body}</tbody></table>`
}

/** What each ELLE run needed to reach each baseline's final AP, with the interval (the compute-saved panel's table). */
function savedTable(c: RunComparison): string {
  const label = (id: number): string => {
    const r = c.runs.find((x) => x.id === id)
    return r ? `#${r.id} ${escapeHtml(r.method)}` : `#${id}`
  }
  const body = c.computeSaved
    .map((s) => {
      const row = savedRow(s)
      return `<tr data-pair="${s.elleRunId}-${s.otherRunId}" class="${s.reached ? '' : 'miss'}"><td class="text">${label(s.elleRunId)}</td><td class="text">${label(s.otherRunId)}</td><td>${formatValue(s.target)} (${s.domains} domains)</td><td class="flops">${row.flops}</td><td class="wall">${row.wall}</td></tr>`
    })
    .join('')
  return `<table class="saved-table" id="compute-saved-table"><thead><tr><th>ELLE run</th><th>baseline</th><th>its final AP</th><th>FLOPs needed [95% CI]</th><th>wall time needed [95% CI]</th></tr></thead><tbody>${body}</tbody></table>`
}

export interface ReportOptions {
  generatedAt?: Date
  /** the downstream table's reference run (Welch against it); default: the first run */
  reference?: number
}

export function renderReport(c: RunComparison, options: ReportOptions = {}): string {
  const heatmaps = matrixHeatmaps(c)
  const maps = heatmaps.map((m) => `<div class="card">${heatmapSvg(m.input).inline}</div>`).join('')
  const range = heatmaps[0]?.input.colorRange
  const saved =
    c.computeSaved.length === 0
      ? `<p class="saved miss">No ELLE run among these runs (a run whose config grows the model, or names method "elle"), so no compute saved is computed.</p>`
      : `<div class="card">${savedTable(c)}</div>${c.computeSaved.map((s) => `<p class="saved${s.reached ? '' : ' miss'}">${escapeHtml(s.sentence)}</p>`).join('')}
<p class="muted">Share of the baseline’s total: 1 − share is the saving. The interval runs from where ELLE’s lower AP bound first reaches the baseline’s upper bound to where its upper bound reaches the baseline’s lower bound.</p>`
  const when = (options.generatedAt ?? new Date())
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ELLE comparison: ${escapeHtml(c.runs.map((r) => `#${r.id}`).join(', '))}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>Run comparison</h1>
<p class="sub">${c.runs.length} run${c.runs.length === 1 ? '' : 's'} of one stream · ELLE Workbench · ${escapeHtml(when)}</p>
<div class="stream">${c.stream.map((d, i) => `<span>${i + 1}. ${escapeHtml(d)}</span>`).join('')}</div>

<h2>Compute saved</h2>
<section id="compute-saved">${saved}</section>

<h2>Summary</h2>
<div class="card">${summaryTable(c)}</div>
<p class="muted">Geometric AP: exp of the mean validation loss over the domains seen so far; AP: their mean perplexity; AP+: mean increase over each earlier domain's perplexity at the end of its own stage (forgetting); lower is better for all three. Intervals: 95% percentile bootstrap over validation documents. Wall time is training time (warm-up and replay included, validation excluded); FLOPs are analytic training FLOPs.</p>
<p class="muted">What each run's final validation evaluated:</p>
${evaluatedList(c)}

<h2>AP at each stage end</h2>
<section class="plots" id="stage-ap">${stageTables(c)}</section>
<p class="muted">The last validation of each training stage; intervals: 95% bootstrap over validation documents.</p>

<h2>Transfer</h2>
<div class="card" id="transfer">${transferTable(c)}</div>
<p class="muted">From the downstream accuracy matrix of each run’s latest forgetting job: BWT = mean over earlier tasks of (score after the last stage − score right after the task’s own stage); FWT = mean of (score before a task’s stage − the untrained model’s score); forgetting = best earlier score − final score (Lopez-Paz &amp; Ranzato 2017; Chaudhry et al. 2018).</p>

<h2>Differences between methods</h2>
<div class="card" id="differences">${differencesTable(c)}</div>
<p class="muted">The ranking uses ${escapeHtml(c.headline.why)} A difference is marked only when its 95% interval, paired by seed (a t interval over the seeds' differences; with one seed, the two runs' own intervals), excludes zero; otherwise it is within noise.</p>

<h2>AP over training</h2>
<div class="plots">
<div class="card">${curveSvg(apCurves(c, 'wallS')).inline}</div>
<div class="card">${curveSvg(apCurves(c, 'flops')).inline}</div>
</div>
<p class="muted">Dashed vertical lines: where each domain's training starts; solid: where a run grew (its new size on the line). Baselines are dashed when an ELLE run is among the runs.</p>

<h2>Perplexity matrices</h2>
<div class="maps">${maps}</div>
<p class="muted">Rows: the end of each training stage (or every validation when no stage has ended); columns: domains in stream order; one logarithmic colour scale for all runs${range ? ` (${formatValue(range[0])} to ${formatValue(range[1])})` : ''}. Grey: not yet seen.</p>

<h2>Downstream</h2>
<div class="card">${downstreamTable(c, options.reference ?? c.runs[0]?.id ?? null)}</div>

<h2>Cost per phase</h2>
<div class="card">${phaseTable(c)}</div>
<p class="muted">Parameters at the start of each phase; wall time and FLOPs spent in it.</p>

<footer>Generated by <code>elle compare</code>. Self-contained: no scripts, no external resources.</footer>
</main>
</body>
</html>
`
}
