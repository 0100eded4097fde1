// Inline SVG for the standalone HTML report: line charts and perplexity heat maps as plain strings
// (no scripts, no external resources; every text is escaped).
import { formatFlops, formatSeconds, formatValue, logPosition, logTicks, niceTicks, viridis } from '../../../shared/plot'

export { logPosition, logTicks, niceTicks, viridis }

export const RUN_COLORS = ['#1f6fb4', '#d1495b', '#2e9d57', '#e08a1e', '#7b5ea7', '#8c564b', '#d35fb7', '#1aa3b5', '#6b6b6b', '#b5b51a', '#17becf', '#222222']

/** The chart classes' styles: the report's page includes them, a standalone SVG file carries them itself. */
export const CHART_CSS = `
  svg text { font: 11px system-ui, sans-serif; fill: #394653; }
  svg .title { font-size: 13px; font-weight: 600; fill: #1d2733; }
  svg .label { font-size: 12px; fill: #4a5867; }
  svg .tick { fill: #5d6b7a; }
  svg .muted { fill: #5d6b7a; }
  svg .cell { font-size: 10.5px; }
  svg .ink-light { fill: #fff; }
  svg .ink-dark { fill: #1d2733; }
  svg .grid { stroke: #edf0f3; }
  svg .axis { stroke: #8796a5; }
  svg .empty-cell { fill: #f0f2f5; }
`

/** A chart as an SVG file of its own (docs, exports): the SVG namespace, a white background and the styles. */
export function standaloneSvg(svg: string): string {
  const open = svg.indexOf('>') + 1
  const tag = svg.slice(0, open)
  const size = /viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"/.exec(tag)
  const background = size ? `<rect width="${size[1]}" height="${size[2]}" fill="#fff"/>` : ''
  return `${tag.replace('<svg ', '<svg xmlns="http://www.w3.org/2000/svg" ')}<style>${CHART_CSS.replace(/\s+/g, ' ').trim()}</style>${background}${svg.slice(open)}\n`
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** Text that reads on a viridis cell: dark on the light (yellow-green) end, light elsewhere. */
export const inkOn = (t: number): 'ink-dark' | 'ink-light' => (t > 0.55 ? 'ink-dark' : 'ink-light')

export interface LineSeries {
  label: string
  color: string
  points: ReadonlyArray<readonly [number, number]>
  dashed?: boolean
}

export interface Marker {
  x: number
  y: number
  color: string
  label: string
}

const fx = (n: number) => n.toFixed(1)

/** A multi-series line chart; the y axis goes logarithmic when the values span more than 20x. */
/** Many series read better with the legend in a column on the right (`legend: 'right'`) than in the top row. */
export function lineChartSvg(options: {
  title: string
  series: LineSeries[]
  xLabel: string
  yLabel: string
  xKind: 'seconds' | 'flops'
  markers?: Marker[]
  width?: number
  height?: number
  legend?: 'top' | 'right'
}): string {
  const legendRight = options.legend === 'right'
  const legendWidth = legendRight ? 28 + Math.max(0, ...options.series.map((s) => s.label.length)) * 6.4 : 0
  const W = options.width ?? 640 + legendWidth
  const H = options.height ?? 340
  const P = { left: 64, right: 16 + legendWidth, top: 34, bottom: 46 }
  const pts = options.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  const head = `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(options.title)}" class="chart">`
  const title = `<text x="${P.left}" y="20" class="title">${escapeHtml(options.title)}</text>`
  if (pts.length === 0) return `${head}${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no AP points recorded</text></svg>`
  const xs = pts.map(([x]) => x)
  const ys = pts.map(([, y]) => y)
  const x0 = Math.min(0, ...xs)
  let x1 = Math.max(...xs)
  if (x1 === x0) x1 = x0 + 1
  let y0 = Math.min(...ys)
  let y1 = Math.max(...ys)
  const logY = y0 > 0 && y1 / y0 > 20
  if (y0 === y1) [y0, y1] = [y0 * 0.9 - 1e-9, y1 * 1.1 + 1e-9]
  const ty = (y: number) => (logY ? Math.log10(y) : y)
  const ly0 = ty(y0) - (ty(y1) - ty(y0)) * 0.04
  const ly1 = ty(y1) + (ty(y1) - ty(y0)) * 0.04
  const sx = (x: number) => P.left + ((x - x0) / (x1 - x0)) * (W - P.left - P.right)
  const sy = (y: number) => P.top + (1 - (ty(y) - ly0) / (ly1 - ly0)) * (H - P.top - P.bottom)
  const xt = niceTicks(x0, x1, 6)
  const yt = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5)
  const fmtX = (v: number) => (options.xKind === 'flops' ? formatFlops(v) : formatSeconds(v).replace(' min ', 'm').replace(' s', 's'))
  const grid = [
    ...yt.map(
      (t) =>
        `<line x1="${P.left}" x2="${W - P.right}" y1="${fx(sy(t))}" y2="${fx(sy(t))}" class="grid"/><text x="${P.left - 6}" y="${fx(sy(t) + 4)}" text-anchor="end" class="tick">${formatValue(t, t < 10 ? 1 : 0)}</text>`
    ),
    ...xt.map(
      (t) =>
        `<line x1="${fx(sx(t))}" x2="${fx(sx(t))}" y1="${P.top}" y2="${H - P.bottom}" class="grid"/><text x="${fx(sx(t))}" y="${H - P.bottom + 16}" text-anchor="middle" class="tick">${escapeHtml(fmtX(t))}</text>`
    )
  ].join('')
  const axes =
    `<line x1="${P.left}" x2="${W - P.right}" y1="${H - P.bottom}" y2="${H - P.bottom}" class="axis"/>` +
    `<line x1="${P.left}" x2="${P.left}" y1="${P.top}" y2="${H - P.bottom}" class="axis"/>` +
    `<text x="${(W + P.left) / 2}" y="${H - 8}" text-anchor="middle" class="label">${escapeHtml(options.xLabel)}</text>` +
    `<text transform="translate(16 ${(H + P.top - P.bottom) / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeHtml(options.yLabel)}${logY ? ' (log)' : ''}</text>`
  const lines = options.series
    .map((s) => {
      const valid = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      const d = valid.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${fx(sx(x))},${fx(sy(y))}`).join('')
      const dots = valid.length <= 40 ? valid.map(([x, y]) => `<circle cx="${fx(sx(x))}" cy="${fx(sy(y))}" r="2.4" fill="${s.color}"/>`).join('') : ''
      return `<g class="series"><title>${escapeHtml(s.label)}</title><path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>${dots}</g>`
    })
    .join('')
  const markers = (options.markers ?? [])
    .filter((m) => Number.isFinite(m.x) && Number.isFinite(m.y) && m.y >= y0 && m.y <= y1)
    .map(
      (m) =>
        `<g class="marker"><title>${escapeHtml(m.label)}</title><line x1="${fx(sx(m.x))}" x2="${fx(sx(m.x))}" y1="${fx(sy(m.y))}" y2="${H - P.bottom}" stroke="${m.color}" stroke-dasharray="3 3"/>` +
        `<circle cx="${fx(sx(m.x))}" cy="${fx(sy(m.y))}" r="5" fill="none" stroke="${m.color}" stroke-width="2"/></g>`
    )
    .join('')
  const legend = legendRight ? rightLegend(options.series, W - legendWidth + 8, P.top) : topLegend(options.series, W - P.right)
  return `${head}${title}${grid}${axes}${lines}${markers}${legend}</svg>`
}

function rightLegend(series: LineSeries[], x: number, top: number): string {
  return series
    .map((s, i) => {
      const y = top + 8 + i * 18
      return `<g class="legend"><line x1="${fx(x)}" x2="${fx(x + 16)}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/><text x="${fx(x + 21)}" y="${y + 4}" class="tick">${escapeHtml(s.label)}</text></g>`
    })
    .join('')
}

function topLegend(series: LineSeries[], right: number): string {
  let lx = right
  return [...series]
    .reverse()
    .map((s) => {
      const w = 22 + s.label.length * 6.4
      lx -= w + 10
      return `<g class="legend"><line x1="${fx(lx)}" x2="${fx(lx + 16)}" y1="16" y2="16" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/><text x="${fx(lx + 21)}" y="20" class="tick">${escapeHtml(s.label)}</text></g>`
    })
    .join('')
}

/** A perplexity matrix as a heat map: rows are validations, columns domains, colour on a shared log scale. */
export function heatmapSvg(options: { title: string; rowLabels: string[]; columns: string[]; values: Array<Array<number | null>>; min: number; max: number }): string {
  const cw = Math.max(56, Math.min(80, Math.floor(440 / Math.max(1, options.columns.length))))
  const ch = options.rowLabels.length > 14 ? 12 : 26
  const showText = ch >= 20
  const left = 140
  const top = 56
  const legendH = 46
  const W = left + cw * options.columns.length + 16
  const H = top + ch * options.rowLabels.length + legendH
  const cells = options.values
    .map((row, i) =>
      row
        .map((v, j) => {
          const x = left + j * cw
          const y = top + i * ch
          if (v === null) return `<rect x="${x}" y="${y}" width="${cw - 1}" height="${ch - 1}" class="empty-cell"/>`
          const t = logPosition(v, options.min, options.max)
          const text = showText ? `<text x="${x + cw / 2}" y="${y + ch / 2 + 4}" text-anchor="middle" class="cell ${inkOn(t)}">${formatValue(v, v < 100 ? 1 : 0)}</text>` : ''
          return `<rect x="${x}" y="${y}" width="${cw - 1}" height="${ch - 1}" fill="${viridis(t)}"><title>${escapeHtml(`${options.rowLabels[i]} · ${options.columns[j]}: ${formatValue(v, 2)}`)}</title></rect>${text}`
        })
        .join('')
    )
    .join('')
  const colLabels = options.columns.map((c, j) => `<text x="${left + j * cw + cw / 2}" y="${top - 8}" text-anchor="middle" class="tick">${escapeHtml(c)}</text>`).join('')
  const rowLabels =
    showText || options.rowLabels.length <= 40
      ? options.rowLabels
          .map((r, i) =>
            showText || i % Math.ceil(options.rowLabels.length / 20) === 0
              ? `<text x="${left - 8}" y="${top + i * ch + ch / 2 + 4}" text-anchor="end" class="tick">${escapeHtml(r)}</text>`
              : ''
          )
          .join('')
      : ''
  const id = `g${Math.abs(hashString(options.title))}`
  const gw = Math.min(260, W - left - 16)
  const ly = top + ch * options.rowLabels.length + 14
  const stops = Array.from({ length: 11 }, (_, k) => `<stop offset="${k * 10}%" stop-color="${viridis(k / 10)}"/>`).join('')
  // the scale's ends, and the round values between them that do not crowd an end
  const inner = logTicks(options.min, options.max).filter((t) => {
    const x = logPosition(t, options.min, options.max) * gw
    return x > 28 && x < gw - 28
  })
  const ticks = [options.min, ...inner, options.max]
    .map((t) => {
      const x = left + logPosition(t, options.min, options.max) * gw
      return `<line x1="${fx(x)}" x2="${fx(x)}" y1="${ly + 10}" y2="${ly + 14}" class="axis"/><text x="${fx(x)}" y="${ly + 26}" text-anchor="middle" class="tick">${formatValue(t, 0)}</text>`
    })
    .join('')
  const legend =
    `<defs><linearGradient id="${id}" x1="0" x2="1" y1="0" y2="0">${stops}</linearGradient></defs>` +
    `<rect x="${left}" y="${ly}" width="${gw}" height="10" fill="url(#${id})"/>${ticks}` +
    `<text x="${left - 8}" y="${ly + 9}" text-anchor="end" class="tick">perplexity (log)</text>`
  return (
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(options.title)}" class="heatmap">` +
    `<text x="0" y="18" class="title">${escapeHtml(options.title)}</text>${colLabels}${rowLabels}${cells}${legend}</svg>`
  )
}

function hashString(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
  return h
}
