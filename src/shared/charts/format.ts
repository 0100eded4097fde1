// Number formats the chart builders share: axis ticks by x kind, exact values in tooltips, cell text, and
// escaping for the tooltip's HTML (labels come from users: experiment names, domains).
import type { XAxisKind } from './types'

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** 1.2k, 3.4M, 5.6G: compact SI for tokens (a tick label, not an exact value). */
export function formatSi(v: number): string {
  const a = Math.abs(v)
  if (a === 0) return '0'
  const units: Array<[number, string]> = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k']
  ]
  for (const [f, u] of units) if (a >= f) return `${+(v / f).toPrecision(3)}${u}`
  return `${+v.toPrecision(3)}`
}

/** Wall time as a tick: 45s, 12m, 3.5h. */
export function formatWall(s: number): string {
  const a = Math.abs(s)
  if (a < 60) return `${+s.toPrecision(3)}s`
  if (a < 3600) return `${+(s / 60).toPrecision(3)}m`
  return `${+(s / 3600).toPrecision(3)}h`
}

export function formatX(kind: XAxisKind, v: number): string {
  if (kind === 'flops') return v === 0 ? '0' : v.toExponential(1).replace('e+', 'e')
  if (kind === 'wall') return formatWall(v)
  if (kind === 'tokens') return formatSi(v)
  return Math.abs(v) >= 1e5 ? formatSi(v) : String(Math.round(v))
}

/** An exact value for a tooltip: enough digits to tell close values apart, never rounded to a tick. */
export function formatExact(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  const a = Math.abs(v)
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(4)
  return String(+v.toPrecision(6))
}

/** A heat-map cell: perplexity with one decimal, a difference with its sign. */
export function formatCell(format: 'ppl' | 'diff', v: number): string {
  if (format === 'ppl') return v >= 1e5 ? v.toExponential(1) : v.toFixed(1)
  const digits = Math.abs(v) < 1 ? 2 : 1
  const s = v.toFixed(digits)
  return v > 0 ? `+${s}` : s === `-${(0).toFixed(digits)}` ? (0).toFixed(digits) : s
}
