// The charts' colours in the app's theme. The option builders (curves.ts, heatmap.ts) draw on white, as the
// report, docs/img and exported files need; in the views the chart takes the app's colours instead: its CSS
// variables (--panel, --text, --muted, --line) when the app is dark. Only the chrome changes (background, text,
// axes, grid, marker ink, tooltip): a run's line keeps its colour (palette.ts) in every theme.

/** The app's colours, as its CSS variables hold them. */
export interface AppColors {
  bg: string
  panel: string
  panel2: string
  text: string
  muted: string
  line: string
}

export interface ChartTheme {
  dark: boolean
  /** the option builders' light ink → the theme's */
  map: Readonly<Record<string, string>>
  tooltip: { backgroundColor: string; borderColor: string; textStyle: { color: string } }
}

/** Relative luminance (0 black .. 1 white) of #rgb / #rrggbb / rgb(r, g, b); null when unreadable. */
export function luminance(color: string): number | null {
  const c = color.trim()
  let rgb: number[] | null = null
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(c)
  if (hex) {
    const h = hex[1]!.length === 3 ? [...hex[1]!].map((x) => x + x).join('') : hex[1]!
    rgb = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16))
  } else {
    const m = /^rgba?\(\s*(\d+)[,\s]+(\d+)[,\s]+(\d+)/i.exec(c)
    if (m) rgb = [m[1], m[2], m[3]].map(Number)
  }
  if (!rgb) return null
  const [r, g, b] = rgb.map((v) => {
    const s = v / 255
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
}

/** The light ink the builders use, by role. */
export const LIGHT_INK = {
  background: ['#ffffff'],
  strong: ['#1d2733', '#394653', '#333'],
  muted: ['#5d6b7a', '#6b7682', '#9aa3ad'],
  grid: ['#edf0f3', '#f0f2f5']
} as const

/** The theme for the app's colours: dark when its background is (then the chart's chrome takes the variables), else the builders' light ink as it is. */
export function chartTheme(app: AppColors): ChartTheme {
  const l = luminance(app.bg)
  const dark = l !== null && l < 0.2
  if (!dark) return { dark: false, map: {}, tooltip: { backgroundColor: '#ffffff', borderColor: '#d5dbe1', textStyle: { color: '#1d2733' } } }
  const map: Record<string, string> = {}
  for (const c of LIGHT_INK.background) map[c] = app.panel
  for (const c of LIGHT_INK.strong) map[c] = app.text
  for (const c of LIGHT_INK.muted) map[c] = app.muted
  for (const c of LIGHT_INK.grid) map[c] = app.line
  return { dark, map, tooltip: { backgroundColor: app.panel2, borderColor: app.line, textStyle: { color: app.text } } }
}

const COLOR_KEYS = new Set(['color', 'backgroundColor', 'borderColor'])

/**
 * A series' points, kept by reference: numbers or [x, y] pairs (a chart of 100 runs has millions), and heat map
 * cells ({ value, label }: their text is dark or light against the cell's own colour, not the background).
 * Marker lines ({ xAxis, ... }) are walked.
 */
const isPointData = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && (typeof v[0] !== 'object' || v[0] === null || Array.isArray(v[0]) || 'value' in (v[0] as object))

function recolor(value: unknown, map: Readonly<Record<string, string>>, colorKey: boolean): unknown {
  if (typeof value === 'string') return colorKey ? (map[value.toLowerCase()] ?? value) : value
  if (Array.isArray(value)) return value.map((v) => recolor(v, map, colorKey))
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = k === 'data' && isPointData(v) ? v : recolor(v, map, COLOR_KEYS.has(k))
  return out
}

/**
 * The option in the theme: the builders' light ink swapped for the theme's on colour keys only (functions, data
 * and run colours untouched), and the tooltip's box. Non-enumerable extras (the curves' `__meta`) are carried over.
 */
export function themedOption<T extends object>(option: T, theme: ChartTheme): T {
  if (!theme.dark) return option
  const out = recolor(option, theme.map, false) as Record<string, unknown>
  if (out.tooltip && typeof out.tooltip === 'object') out.tooltip = { ...(out.tooltip as object), ...theme.tooltip }
  for (const key of Object.getOwnPropertyNames(option))
    if (!Object.prototype.propertyIsEnumerable.call(option, key)) Object.defineProperty(out, key, Object.getOwnPropertyDescriptor(option, key)!)
  return out as T
}
