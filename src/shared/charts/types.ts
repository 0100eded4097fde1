// What a chart draws, independent of the charting library: the engine's series queries produce these, the
// option builders (src/shared/charts) turn them into the library's options for the views (interactive) and for
// the HTML report and docs/img (server-side SVG). Colours come from `runColor` so a run looks the same everywhere.
import { z } from 'zod'

/** The x axes a curve can be drawn against. */
export const X_AXES = ['step', 'tokens', 'wall', 'flops'] as const
export const XAxisKind = z.enum(X_AXES)
export type XAxisKind = z.infer<typeof XAxisKind>

/**
 * A column of finite numbers, null where a value is missing, checked in one loop: a comparison's answer holds
 * ~160,000 of them, and a schema per element (z.array(z.number().nullable())) took 0.3–0.5 s in the page to check.
 */
const column = <T extends number | null>(nullable: boolean) =>
  z.custom<T[]>(
    (v) => {
      if (!Array.isArray(v)) return false
      for (const e of v) if (!((nullable && e === null) || (typeof e === 'number' && Number.isFinite(e)))) return false
      return true
    },
    { message: nullable ? 'expected an array of finite numbers or nulls' : 'expected an array of finite numbers' }
  )
const Values = column<number | null>(true)
const Xs = column<number>(false)

/** One drawn line: a run's series, a group's mean/median over seeds, or a group member. */
export const CurveLine = z.object({
  /** stable key: `run:<id>` or `group:<key>`; legend entries and colours follow it */
  key: z.string(),
  label: z.string(),
  color: z.string(),
  role: z.enum(['run', 'group', 'member']),
  /** x of each point (a bucket's x when bucketed), ascending */
  x: Xs,
  /** the drawn value (smoothed when smoothing is on; the group statistic for a group) */
  y: Values,
  /** per-bucket min and max of the raw values, so no spike is hidden; absent when every point is drawn */
  min: Values.optional(),
  max: Values.optional(),
  /** the unsmoothed values at the same x, drawn faded under `y`; absent when smoothing is off */
  raw: Values.optional(),
  /** a group's band over seeds */
  band: z.object({ lo: Values, hi: Values, kind: z.enum(['std', 'sem', 'ci95']) }).optional(),
  dashed: z.boolean().optional(),
  /** how many stored points this line stands for (every point is stored; the chart says how many it summarises) */
  points: z.number().int().nonnegative()
})
export type CurveLine = z.infer<typeof CurveLine>

/** A vertical marker: where a domain's stage starts or where the model grew (its new shape in `detail`). */
export const CurveMarker = z.object({
  x: z.number(),
  kind: z.enum(['domain', 'growth']),
  label: z.string(),
  detail: z.string().optional(),
  /** the line it belongs to (markers of runs that differ are drawn in their run's colour) */
  key: z.string().optional(),
  color: z.string().optional()
})
export type CurveMarker = z.infer<typeof CurveMarker>

export const CurveChartInput = z.object({
  title: z.string().optional(),
  xAxis: XAxisKind,
  xLabel: z.string(),
  yLabel: z.string(),
  logY: z.boolean(),
  lines: z.array(CurveLine),
  markers: z.array(CurveMarker),
  /** the x range shown; null for everything (a zoom asks the engine again for this range, re-bucketed) */
  range: z.tuple([z.number(), z.number()]).nullable().optional()
})
export type CurveChartInput = z.infer<typeof CurveChartInput>

/** A stage × domain matrix: one run's perplexities, a group's mean, or the difference of two. */
export const HeatmapInput = z.object({
  title: z.string().optional(),
  rows: z.array(z.string()),
  cols: z.array(z.string()),
  values: z.array(Values),
  /** a cell's interval (95%), shown on hover */
  intervals: z.array(z.array(z.object({ lo: z.number(), hi: z.number() }).nullable())).optional(),
  /** `log` for perplexities (viridis on a log scale), `diverging` for differences around 0 */
  scale: z.enum(['log', 'diverging']),
  /** how cell values are written: perplexity with one decimal, or a signed difference */
  format: z.enum(['ppl', 'diff']),
  /** the colour scale's ends in cell units, so several maps of one comparison share one scale; default: this map's own range */
  colorRange: z.tuple([z.number(), z.number()]).optional()
})
export type HeatmapInput = z.infer<typeof HeatmapInput>
