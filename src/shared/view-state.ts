// The state of the comparison a user can save and share: which runs, how their curves are drawn (metric, x axis,
// smoothing, grouping) and how the runs table is laid out. Saved views store it; a shareable link carries a
// saved view's id. The Compare view's stores read and write exactly these fields.
import { z } from 'zod'
import { X_AXES } from './charts/types'

export const SMOOTHING_KINDS = ['none', 'ema', 'running', 'gaussian'] as const
export const GROUP_BY = ['none', 'experiment', 'method', 'sweep'] as const
export const GROUP_STATS = ['mean', 'median'] as const
export const BAND_KINDS = ['none', 'std', 'sem', 'ci95'] as const

/**
 * Smoothing of a curve, computed on the full series: `ema` with weight in [0, 1) (debiased at the start, as
 * TensorBoard does), `running` average over `param` points, `gaussian` with a standard deviation of `param` points.
 */
export const Smoothing = z
  .object({ kind: z.enum(SMOOTHING_KINDS), param: z.number().min(0).max(100_000) })
  .strict()
  .refine((s) => s.kind !== 'ema' || s.param < 1, { message: 'an EMA weight is below 1', path: ['param'] })
export type Smoothing = z.infer<typeof Smoothing>

export const Grouping = z.object({ by: z.enum(GROUP_BY), stat: z.enum(GROUP_STATS), band: z.enum(BAND_KINDS), members: z.boolean() }).strict()
export type Grouping = z.infer<typeof Grouping>

export const CompareViewState = z
  .object({
    runs: z.array(z.number().int().positive()).max(500),
    /** the series the curves panel draws (`ap_geo`, `loss`, `ppl/<domain>`, ...) */
    metrics: z.array(z.string().min(1).max(200)).max(20),
    x: z.enum(X_AXES),
    logY: z.boolean(),
    smoothing: Smoothing,
    grouping: Grouping,
    range: z.tuple([z.number(), z.number()]).nullable()
  })
  .strict()
export type CompareViewState = z.infer<typeof CompareViewState>

export const RunsTableState = z
  .object({
    /** column ids: `config.<dotted path>`, `final.<metric>`, or a built-in (`id`, `status`, `tags`, ...) */
    columns: z.array(z.string().min(1).max(200)).max(100),
    /** the filter query, e.g. `method = elle and seed < 3` */
    filter: z.string().max(2000),
    search: z.string().max(200),
    sort: z
      .object({ column: z.string().min(1).max(200), dir: z.enum(['asc', 'desc']) })
      .strict()
      .nullable()
  })
  .strict()
export type RunsTableState = z.infer<typeof RunsTableState>

export const ViewState = z.object({ compare: CompareViewState, table: RunsTableState }).strict()
export type ViewState = z.infer<typeof ViewState>

export const DEFAULT_VIEW_STATE: ViewState = {
  compare: {
    runs: [],
    metrics: ['ap_geo'],
    x: 'step',
    logY: true,
    smoothing: { kind: 'none', param: 0 },
    grouping: { by: 'none', stat: 'mean', band: 'ci95', members: false },
    range: null
  },
  table: { columns: ['id', 'experiment', 'status', 'method', 'final.ap_geo', 'created'], filter: '', search: '', sort: null }
}
