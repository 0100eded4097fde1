// The curves query (`runs.series`): any recorded series of any runs against step, tokens, wall time or FLOPs,
// min/max-bucketed over the requested range (every point stays stored; a zoom asks again for its range),
// smoothed on the full series, optionally grouped over seeds with a band. The result is what the chart draws.
import { z } from 'zod'
import { CurveLine, CurveMarker, XAxisKind } from './charts/types'
import { Grouping, Smoothing } from './view-state'

export const SERIES_QUERY_MAX_RUNS = 200
export const SERIES_QUERY_MAX_BUCKETS = 5000
export const SERIES_QUERY_DEFAULT_BUCKETS = 800

export const SeriesQuery = z
  .object({
    runs: z.array(z.number().int().positive()).min(1).max(SERIES_QUERY_MAX_RUNS),
    /** series names: `loss`, `lr`, `grad_norm`, `tokens_per_s`, `penalty`, `ap`, `ap_geo`, `ap_plus`, `ppl/<domain>`, ... */
    metrics: z.array(z.string().min(1).max(200)).min(1).max(20),
    x: XAxisKind,
    /** the x range to bucket, in the x axis' units; null or absent for everything */
    range: z.tuple([z.number(), z.number()]).nullable().optional(),
    buckets: z.number().int().min(10).max(SERIES_QUERY_MAX_BUCKETS).optional(),
    smoothing: Smoothing.optional(),
    grouping: Grouping.optional()
  })
  .strict()
export type SeriesQuery = z.infer<typeof SeriesQuery>

/** One metric's curves over the queried runs (or groups), with the markers of their domains and growth. */
export const SeriesChart = z.object({
  metric: z.string(),
  yLabel: z.string(),
  lines: z.array(CurveLine),
  markers: z.array(CurveMarker),
  /** the full x extent of the data, so a view can zoom out again */
  extent: z.tuple([z.number(), z.number()]).nullable()
})
export type SeriesChart = z.infer<typeof SeriesChart>

export const SeriesResult = z.object({
  x: XAxisKind,
  xLabel: z.string(),
  range: z.tuple([z.number(), z.number()]).nullable(),
  charts: z.array(SeriesChart),
  /** every series name the queried runs recorded (what a metric picker offers); added by the series helper */
  available: z.array(z.string()).optional()
})
export type SeriesResult = z.infer<typeof SeriesResult>
