// Pure helpers of the run page's checkpoint actions (issue 15): what the views show of jobs, checkpoints and
// their results, kept here so the components stay thin and the rules are testable without a browser.
import type { CheckpointSummary, JobSummary, ModelShape, Params } from './contract'
import type { HeatmapInput } from './charts/types'
import { EvaluateResult, GrowResult, ImportResult } from './jobs'

/** "12 s left", "3 min 5 s left"; null etaS: not measured yet. */
export function formatEta(etaS: number | null): string {
  if (etaS === null) return 'ETA –'
  const s = Math.round(etaS)
  if (s >= 3600) return `ETA ${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
  return s >= 60 ? `ETA ${Math.floor(s / 60)} min ${s % 60} s` : `ETA ${s} s`
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = bytes / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`
}

/** "gpt L2 H2 d32 ffn128" */
export const formatShape = (m: Pick<ModelShape, 'layers' | 'heads' | 'hidden' | 'ffn'> & { kind?: string }): string =>
  `${m.kind ? `${m.kind} ` : ''}L${m.layers} H${m.heads} d${m.hidden} ffn${m.ffn}`

/** 1234567 -> "1.23 M" */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`
  return String(n)
}

/** "0.812 ± 0.013" (n = 1 or no std: the mean alone); null mean: "–" */
export function formatMeanStd(mean: number | null, std: number | null, digits = 3): string {
  if (mean === null) return '–'
  return std === null ? mean.toFixed(digits) : `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`
}

/** The checkpoint a job was started on (by id), or null (by path, a forgetting matrix, an import). */
export function jobCheckpointId(job: Pick<JobSummary, 'params'>): number | null {
  const id = job.params.checkpointId
  return typeof id === 'number' ? id : null
}

/** The jobs that belong on a run's page: on one of its checkpoints, or its forgetting matrix, or any import. */
export function jobsOfRun(jobs: readonly JobSummary[], runId: number, checkpoints: readonly Pick<CheckpointSummary, 'id'>[]): JobSummary[] {
  const ids = new Set(checkpoints.map((c) => c.id))
  return jobs.filter((j) => {
    const ckpt = jobCheckpointId(j)
    if (ckpt !== null) return ids.has(ckpt)
    if (j.kind === 'forgetting') return j.params.runId === runId
    return j.kind === 'import'
  })
}

export interface CheckpointEvaluation {
  jobId: number
  /** a domain's name or a text file's path */
  on: string
  ppl: number
  ci: { lo: number; hi: number } | null
  endedAt: string | null
}

/** A checkpoint's finished evaluations, the latest per domain (or text file), in the order first evaluated. */
export function latestEvaluations(jobs: readonly JobSummary[], checkpointId: number): CheckpointEvaluation[] {
  const latest = new Map<string, CheckpointEvaluation>()
  for (const job of [...jobs].sort((a, b) => a.id - b.id)) {
    if (job.kind !== 'evaluate' || job.status !== 'finished' || jobCheckpointId(job) !== checkpointId) continue
    const parsed = EvaluateResult.safeParse(job.result)
    if (!parsed.success) continue
    const r = parsed.data
    latest.set(r.on, { jobId: job.id, on: r.on, ppl: r.ppl, ci: r.ci ?? null, endedAt: job.endedAt })
  }
  return [...latest.values()]
}

/**
 * A checkpoint a job wrote that belongs to no run: the grown (grow jobs) and imported (import jobs) ones. The
 * actions take it by folder (checkpointPath), which the engine accepts inside its data directory.
 */
export interface DetachedCheckpoint {
  jobId: number
  kind: 'grow' | 'import'
  path: string
  shape: Pick<ModelShape, 'layers' | 'heads' | 'hidden' | 'ffn'> & { kind?: string }
  /** grow: the folder it grew from */
  from: string | null
  endedAt: string | null
}

/** Every checkpoint finished grow and import jobs wrote, newest first, one per folder (a folder written again: its latest job). */
export function detachedCheckpoints(jobs: readonly JobSummary[]): DetachedCheckpoint[] {
  const byPath = new Map<string, DetachedCheckpoint>()
  for (const job of [...jobs].sort((a, b) => b.id - a.id)) {
    if (job.status !== 'finished') continue
    let found: DetachedCheckpoint | null = null
    if (job.kind === 'grow') {
      const r = GrowResult.safeParse(job.result)
      if (r.success) found = { jobId: job.id, kind: 'grow', path: r.data.to, shape: r.data.after, from: r.data.from, endedAt: job.endedAt }
    } else if (job.kind === 'import') {
      const r = ImportResult.safeParse(job.result)
      if (r.success) found = { jobId: job.id, kind: 'import', path: r.data.path, shape: r.data.config, from: null, endedAt: job.endedAt }
    }
    if (found && !byPath.has(found.path)) byPath.set(found.path, found)
  }
  return [...byPath.values()]
}

/** "press" for a domain, the file's base name for a text file's path. */
export const evaluationLabel = (on: string): string => (on.includes('/') || on.includes('\\') ? (on.split(/[\\/]/).at(-1) ?? on) : on)

/** What a job is, in a few words: "export of checkpoint 3", "forgetting matrix of run 2". */
export function describeJob(job: Pick<JobSummary, 'kind' | 'params'>): string {
  const ckpt = jobCheckpointId(job)
  const on = ckpt !== null ? ` of checkpoint ${ckpt}` : typeof job.params.checkpointPath === 'string' ? ` of ${job.params.checkpointPath}` : ''
  switch (job.kind) {
    case 'evaluate':
      return `evaluation${on} on ${typeof job.params.domain === 'string' ? job.params.domain : String(job.params.textPath)}`
    case 'finetune':
      return `fine-tune${on} on ${String(job.params.task)}`
    case 'forgetting':
      return `forgetting matrix of run ${String(job.params.runId)}`
    case 'grow':
      return `grow${on} (${String(job.params.mode)})`
    case 'export':
      return `export${on} to Hugging Face`
    case 'import':
      return `import of ${String(job.params.path)}`
    default:
      return job.kind
  }
}

/** Colour of a score in [lo, hi] for a heat-map cell: pale blue (low) to green (high), light enough for dark text; null: no colour. */
export function heatColor(value: number | null, lo: number, hi: number): string | null {
  if (value === null || !Number.isFinite(value)) return null
  const t = hi > lo ? Math.min(1, Math.max(0, (value - lo) / (hi - lo))) : 0.5
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * t)
  return `rgb(${mix(200, 110)} ${mix(214, 214)} ${mix(232, 150)})`
}

/** The low and high of a matrix's finite cells (for its colour scale); null when it has none. */
export function matrixRange(rows: ReadonlyArray<ReadonlyArray<number | null>>): { lo: number; hi: number } | null {
  const values = rows.flat().filter((v): v is number => v !== null && Number.isFinite(v))
  return values.length === 0 ? null : { lo: Math.min(...values), hi: Math.max(...values) }
}

// ---- the action forms -----------------------------------------------------------------------------------

/** The contract methods that start a checkpoint job (each returns the job's summary at once). */
export type CheckpointJobMethod = 'checkpoints.evaluate' | 'checkpoints.finetune' | 'runs.forgetting' | 'checkpoints.grow' | 'checkpoints.export' | 'checkpoints.import'
export type JobStart = { [M in CheckpointJobMethod]: { method: M; params: Params<M> } }[CheckpointJobMethod]

export const CHECKPOINT_ACTIONS = ['evaluate', 'finetune', 'grow', 'export'] as const
export type CheckpointAction = (typeof CHECKPOINT_ACTIONS)[number] | 'forgetting' | 'import'

export const ACTION_TITLES: Record<CheckpointAction, string> = {
  evaluate: 'Evaluate',
  finetune: 'Fine-tune',
  grow: 'Grow',
  export: 'Export to Hugging Face',
  forgetting: 'Forgetting matrix',
  import: 'Import a Hugging Face model'
}

/** What the forms hold: text as typed (numbers are checked here, so the error names the field). */
export interface ActionForm {
  evalOn: 'domain' | 'text'
  domain: string
  textPath: string
  maxSequences: string
  task: string
  seeds: string
  steps: string
  backwardOnly: boolean
  addLayers: string
  addHeads: string
  addFfn: string
  mode: 'exact' | 'elle'
  outDir: string
  exportDir: string
  importPath: string
  overwrite: boolean
}

export const emptyActionForm = (): ActionForm => ({
  evalOn: 'domain',
  domain: '',
  textPath: '',
  maxSequences: '',
  task: '',
  seeds: '3',
  steps: '',
  backwardOnly: false,
  addLayers: '1',
  addHeads: '0',
  addFfn: '',
  mode: 'exact',
  outDir: '',
  exportDir: '',
  importPath: '',
  overwrite: false
})

export type ActionRequest = { ok: true; start: JobStart } | { ok: false; field: keyof ActionForm; message: string }

class FieldError extends Error {
  constructor(
    readonly field: keyof ActionForm,
    message: string
  ) {
    super(message)
  }
}

/** A whole number in [min, max] from a field; '' gives undefined (the engine's default) unless required. */
function intField(form: ActionForm, field: keyof ActionForm, label: string, min: number, max: number, required = false): number | undefined {
  const text = String(form[field]).trim()
  if (text === '') {
    if (required) throw new FieldError(field, `${label} is required`)
    return undefined
  }
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw new FieldError(field, `${label} must be a whole number from ${min} to ${max}, got "${text}"`)
  return n
}

function pathField(form: ActionForm, field: 'textPath' | 'outDir' | 'exportDir' | 'importPath', label: string, required: boolean): string | undefined {
  const text = form[field].trim()
  if (text === '') {
    if (required) throw new FieldError(field, `${label} is required`)
    return undefined
  }
  return text
}

/** The job an action's form asks for, or the first field that is wrong. */
export function actionRequest(action: CheckpointAction, form: ActionForm, target: { checkpointId: number | null; runId: number; checkpointPath?: string | null }): ActionRequest {
  try {
    // a run's checkpoint by id, a detached one (grown, imported) by its folder
    const needCheckpoint = (): { checkpointId: number } | { checkpointPath: string } => {
      if (target.checkpointId !== null) return { checkpointId: target.checkpointId }
      if (target.checkpointPath) return { checkpointPath: target.checkpointPath }
      throw new FieldError('domain', 'choose a checkpoint first')
    }
    let start: JobStart
    switch (action) {
      case 'evaluate': {
        const maxSequences = intField(form, 'maxSequences', 'Sequences', 1, 1_000_000)
        const on =
          form.evalOn === 'domain' ? { domain: form.domain.trim() || failField('domain', 'choose a domain') } : { textPath: pathField(form, 'textPath', 'Text file', true)! }
        start = { method: 'checkpoints.evaluate', params: { ...needCheckpoint(), ...on, ...(maxSequences === undefined ? {} : { maxSequences }) } }
        break
      }
      case 'finetune': {
        const task = form.task.trim() || failField('task', 'choose a task')
        const seeds = intField(form, 'seeds', 'Seeds', 1, 100, true)
        const steps = intField(form, 'steps', 'Steps', 1, 1_000_000)
        start = { method: 'checkpoints.finetune', params: { ...needCheckpoint(), task, seeds, ...(steps === undefined ? {} : { steps }) } }
        break
      }
      case 'forgetting': {
        const seeds = intField(form, 'seeds', 'Seeds', 1, 100, true)
        const steps = intField(form, 'steps', 'Steps', 1, 1_000_000)
        start = { method: 'runs.forgetting', params: { runId: target.runId, seeds, backwardOnly: form.backwardOnly, ...(steps === undefined ? {} : { steps }) } }
        break
      }
      case 'grow': {
        const addLayers = intField(form, 'addLayers', 'Layers to add', 0, 100_000, true)!
        const addHeads = intField(form, 'addHeads', 'Heads to add', 0, 100_000, true)!
        const addFfn = intField(form, 'addFfn', 'FFN units to add', 0, 100_000)
        if (addLayers === 0 && addHeads === 0 && (addFfn ?? 0) === 0) throw new FieldError('addLayers', 'add at least one layer, head or FFN unit')
        const outDir = pathField(form, 'outDir', 'Output folder', false)
        start = {
          method: 'checkpoints.grow',
          params: {
            ...needCheckpoint(),
            addLayers,
            addHeads,
            mode: form.mode,
            ...(addFfn === undefined ? {} : { addFfn }),
            ...(outDir === undefined ? {} : { outDir, overwrite: form.overwrite })
          }
        }
        break
      }
      case 'export':
        start = {
          method: 'checkpoints.export',
          params: { ...needCheckpoint(), format: 'hf', outDir: pathField(form, 'exportDir', 'Folder', true)!, overwrite: form.overwrite }
        }
        break
      case 'import': {
        const outDir = pathField(form, 'outDir', 'Output folder', false)
        start = {
          method: 'checkpoints.import',
          params: { path: pathField(form, 'importPath', 'Hugging Face folder', true)!, ...(outDir === undefined ? {} : { outDir, overwrite: form.overwrite }) }
        }
        break
      }
    }
    return { ok: true, start }
  } catch (e) {
    if (e instanceof FieldError) return { ok: false, field: e.field, message: e.message }
    throw e
  }
}

function failField(field: keyof ActionForm, message: string): never {
  throw new FieldError(field, message)
}

/**
 * The forgetting view of a score matrix: R[i][j] − R[j][j] for every task j already learned at stage i
 * (negative: forgotten since its own stage), as a diverging heat map's input; null where not computed.
 */
export function forgettingHeatmap(R: ReadonlyArray<ReadonlyArray<number | null>>, stages: ReadonlyArray<{ domain: string; task: string | null }>, metric: string): HeatmapInput {
  const values = R.map((row, i) =>
    row.map((v, j) => {
      const own = R[j]?.[j] ?? null
      return j <= i && v !== null && own !== null ? v - own : null
    })
  )
  return {
    title: `${metric} change since each task's own stage (negative: forgotten)`,
    rows: stages.map((s, i) => `after ${i + 1} · ${s.domain}`),
    cols: stages.map((s) => s.task ?? s.domain),
    values,
    scale: 'diverging',
    format: 'diff'
  }
}
