// The one API contract between the engine and every client (Electron renderer via IPC, browser via HTTP/WS).
// Each method has a params schema and a result schema; pushed events have their own schemas.
// Both transports validate requests with these schemas before anything reaches the engine,
// and the renderer validates what it receives, so a mismatch fails loudly at the boundary.
import { z } from 'zod'
import { ThroughputSample } from './designer'
import { RunConfig } from './run-config'
import { ViewState } from './view-state'
import { SeriesQuery, SeriesResult } from './series'

export const RUN_STATUSES = ['queued', 'running', 'paused', 'finished', 'failed', 'cancelled'] as const
export const RunStatus = z.enum(RUN_STATUSES)
export type RunStatus = z.infer<typeof RunStatus>

export const BACKEND_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm-native', 'wasm', 'cpu'] as const
export const BackendName = z.enum(BACKEND_NAMES)
export type BackendName = z.infer<typeof BackendName>

/** A backend the host (not the engine's tfjs) provides: where it runs, on what device, and whether training uses it. */
export const HostBackend = z.object({
  /** where it runs, for people: "Chromium window" */
  label: z.string(),
  /** the device's one-line name (a GPU adapter); null: the host found none */
  device: z.string().nullable(),
  /** false: probed and reported, but training steps do not run on it (they use the active backend) */
  trains: z.boolean()
})
export type HostBackend = z.infer<typeof HostBackend>

export const BackendCandidate = z.object({
  name: BackendName,
  /** npm package that provides this backend */
  package: z.string(),
  status: z.enum(['active', 'available', 'skipped', 'failed']),
  /** why a better backend was not used, or why this one failed */
  reason: z.string().nullable(),
  /** set when the engine's host provides this backend outside the engine's own tfjs (Electron's GPU window) */
  host: HostBackend.optional()
})
export type BackendCandidate = z.infer<typeof BackendCandidate>

/**
 * The report entry a host hands the engine (Engine.reportHostBackend): it replaces the engine's entry for the same
 * backend name, and the engine pushes the new report to its clients (event backend.changed).
 */
export const HostBackendCandidate = BackendCandidate.extend({ host: HostBackend })
export type HostBackendCandidate = z.infer<typeof HostBackendCandidate>

/** the code that multiplies matrices (most of a training step's FLOPs) */
export const MATMUL_KERNELS = ['webgpu', 'tensorflow', 'onnxruntime-mlas', 'xnnpack-wasm', 'tfjs-js'] as const
export const MatmulKernel = z.object({
  kernel: z.enum(MATMUL_KERNELS),
  threads: z.number().int().positive(),
  /** what it is, and why a faster kernel is not used (null: nothing faster was skipped) */
  detail: z.string(),
  skipped: z.string().nullable()
})
export type MatmulKernel = z.infer<typeof MatmulKernel>

export const BackendReport = z.object({
  active: BackendName,
  /** how the choice was made: automatic order, a command-line flag or the ELLE_BACKEND variable */
  requestedBy: z.enum(['auto', 'flag', 'env']),
  candidates: z.array(BackendCandidate),
  threads: z.number().int().positive(),
  matmul: MatmulKernel
})
export type BackendReport = z.infer<typeof BackendReport>

export const RunSummary = z.object({
  id: z.number().int().positive(),
  experimentId: z.number().int().positive(),
  experimentName: z.string(),
  status: RunStatus,
  backend: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  error: z.string().nullable(),
  /** the stream the run trains on (null: its stages' domains match no stream) */
  streamId: z.number().int().positive().nullable()
})
export type RunSummary = z.infer<typeof RunSummary>

export const StageSummary = z.object({
  id: z.number().int().positive(),
  index: z.number().int().nonnegative(),
  kind: z.string(),
  domain: z.string().nullable(),
  status: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable()
})
export type StageSummary = z.infer<typeof StageSummary>

export const RunDetail = RunSummary.extend({
  stages: z.array(StageSummary),
  metricCount: z.number().int().nonnegative()
})
export type RunDetail = z.infer<typeof RunDetail>

export const DomainSummary = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  description: z.string().nullable(),
  files: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative().nullable(),
  /** the reserved prompt-token slot of this domain (its domain prompt) */
  promptSlot: z.number().int().nonnegative().nullable(),
  /** part of the built-in default stream */
  builtin: z.boolean(),
  createdAt: z.string()
})
export type DomainSummary = z.infer<typeof DomainSummary>

export const ExperimentSummary = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  configHash: z.string(),
  createdAt: z.string(),
  runCount: z.number().int().nonnegative()
})
export type ExperimentSummary = z.infer<typeof ExperimentSummary>

export const SystemInfo = z.object({
  version: z.string(),
  backend: BackendReport,
  store: z.object({ path: z.string(), schemaVersion: z.number().int() }),
  /** which transport serves this client: lets the UI say "browser mode" */
  mode: z.enum(['electron', 'browser', 'cli'])
})
export type SystemInfo = z.infer<typeof SystemInfo>

export const RunProgress = z.object({
  runId: z.number().int().positive(),
  /** the configured stage (one per domain of the stream) */
  stage: z.number().int().nonnegative(),
  stages: z.number().int().positive(),
  /** train: learning the stage's domain; frw: the function-recovering warm-up on the previous domain's memory */
  phase: z.enum(['train', 'frw']),
  domain: z.string(),
  step: z.number().int().nonnegative(),
  totalSteps: z.number().int().positive(),
  stepInStage: z.number().int().nonnegative(),
  stageSteps: z.number().int().positive(),
  loss: z.number(),
  lr: z.number(),
  tokensPerS: z.number().nonnegative(),
  tokensSeen: z.number().nonnegative(),
  wallS: z.number().nonnegative(),
  /** seconds left at the current throughput; null until measured */
  etaS: z.number().nonnegative().nullable(),
  /** threads training the run (data-parallel: the coordinator and its replicas; absent: 1) */
  workers: z.number().int().positive().optional(),
  /** the latest validation: perplexity per seen domain */
  validation: z.object({ step: z.number().int(), ppl: z.record(z.string(), z.number()) }).nullable()
})
export type RunProgress = z.infer<typeof RunProgress>

/** One metric over a run, columnar (plots read columns), downsampled to a bounded number of points. */
export const MetricSeries = z.object({
  name: z.string(),
  step: z.array(z.number()),
  value: z.array(z.number()),
  wallS: z.array(z.number()),
  flops: z.array(z.number()),
  tokensSeen: z.array(z.number()),
  /** the phase each point was recorded in (kind, configured stage, domain) */
  phase: z.array(z.object({ kind: z.string(), stage: z.number().int().nullable(), domain: z.string().nullable() }))
})
export type MetricSeries = z.infer<typeof MetricSeries>

/** A point of an AP-like curve with both efficiency axes (elle-method §16). */
export const CurvePoint = z.object({ step: z.number(), value: z.number(), wallS: z.number(), flops: z.number() })
export type CurvePoint = z.infer<typeof CurvePoint>

/** The phase a row belongs to: kind (train, frw), configured stage and domain (shared/metrics.ts PhaseRef). */
const PhaseFields = { kind: z.string(), stage: z.number().int().nullable(), domain: z.string().nullable() }

/** One compared run: its lifelong curves, perplexity matrix, cost per phase and downstream scores (docs/compare.md). */
/** A 95% interval (bootstrap over validation documents unless said otherwise). */
export const IntervalZ = z.object({ lo: z.number(), hi: z.number() })

/** What one run's final validation evaluated, per domain (stream order): the statement a comparison rests on. */
export const EvaluatedDomain = z.object({
  domain: z.string(),
  ppl: z.number().nullable(),
  /** 95% bootstrap interval over validation documents (null: recorded before intervals existed) */
  ci: IntervalZ.nullable(),
  /** scored target tokens and validation documents */
  tokens: z.number().nullable(),
  docs: z.number().nullable()
})

/**
 * A run's downstream forgetting matrix (accuracy): R[i][j] is task j's score after stage i (null: not scored),
 * baseline[j] the score of the run's step-0 model; BWT and FWT as Lopez-Paz & Ranzato (2017), docs/compare.md.
 */
export const Transfer = z.object({
  jobId: z.number().int().positive(),
  /** the stream's domains (columns) and the task each is scored on */
  domains: z.array(z.string()),
  tasks: z.array(z.string().nullable()),
  R: z.array(z.array(z.number().nullable())),
  std: z.array(z.array(z.number().nullable())),
  baseline: z.array(z.number().nullable()),
  bwt: z.number().nullable(),
  fwt: z.number().nullable(),
  seeds: z.number().int().nonnegative()
})
export type Transfer = z.infer<typeof Transfer>

export const ComparedRun = z.object({
  id: z.number().int().positive(),
  experimentName: z.string(),
  status: RunStatus,
  /** the method: the config's `method.name`, else inferred (growth: elle; replay: er; neither: naive) */
  method: z.string(),
  methodSource: z.enum(['config', 'inferred']),
  /** counted as an ELLE run for compute saved */
  elle: z.boolean(),
  label: z.string(),
  /** PPL[t][j]: one row per validation, columns in stream order (null before domain j was seen) */
  matrix: z.array(
    z.object({
      step: z.number(),
      wallS: z.number(),
      flops: z.number(),
      ...PhaseFields,
      /** the last validation of a training phase: the row the paper's tables use */
      stageEnd: z.boolean(),
      /** tokens trained on at this validation (absent: a comparison made before it was carried) */
      tokens: z.number().optional(),
      ppl: z.array(z.number().nullable()),
      /** each cell's 95% bootstrap interval (ppl_lo/ppl_hi series); absent or null where not recorded */
      ci: z.array(IntervalZ.nullable()).optional()
    })
  ),
  ap: z.array(CurvePoint),
  apPlus: z.array(CurvePoint),
  apGeo: z.array(CurvePoint),
  final: z.object({
    ap: z.number().nullable(),
    apPlus: z.number().nullable(),
    apGeo: z.number().nullable(),
    domainsSeen: z.number().int().nonnegative(),
    /** 95% bootstrap intervals over validation documents of the final values (null: not recorded) */
    ci: z.object({ ap: IntervalZ.nullable(), apPlus: IntervalZ.nullable(), apGeo: IntervalZ.nullable() })
  }),
  /** 95% bootstrap intervals of AP, AP+ and geometric AP at each validation that recorded them (by step) */
  intervals: z.array(z.object({ step: z.number(), ap: IntervalZ.nullable(), apPlus: IntervalZ.nullable(), apGeo: IntervalZ.nullable() })).optional(),
  /** the latest finished forgetting-matrix job of the run (runs.forgetting), on accuracy; null: none stored */
  transfer: Transfer.nullable().optional(),
  /** the run's training seed (from its config): what pairs runs of two methods */
  seed: z.number().int().nullable(),
  /** the final validation per domain, and the validations' share of the run's time */
  evaluation: z.object({
    domains: z.array(EvaluatedDomain),
    /** seconds spent validating (all validations), and their share of training + validation seconds */
    evalS: z.number(),
    evalShare: z.number().nullable()
  }),
  /** phases in order: parameters at the phase start, training wall seconds and FLOPs spent in the phase */
  phases: z.array(
    z.object({
      ...PhaseFields,
      params: z.number().nullable(),
      startStep: z.number(),
      endStep: z.number(),
      wallS: z.number(),
      flops: z.number()
    })
  ),
  totals: z.object({ wallS: z.number(), flops: z.number(), params: z.number().nullable(), steps: z.number() }),
  /** downstream scores: mean and sample std over seeds per task, domain, metric, checkpoint and fine-tuning settings */
  downstream: z.array(
    z.object({
      task: z.string(),
      domain: z.string(),
      metric: z.string(),
      checkpointId: z.number().int().nullable(),
      /** the training step of that checkpoint (null: no checkpoint recorded) */
      checkpointStep: z.number().int().nullable(),
      /** fine-tuning updates the scores were made with (null: recorded before the store kept settings) */
      finetuneSteps: z.number().int().nullable(),
      mean: z.number(),
      std: z.number().nullable(),
      seeds: z.number().int().positive()
    })
  )
})
export type ComparedRun = z.infer<typeof ComparedRun>

/** What an ELLE run needed to first reach another run's final AP (docs/compare.md). */
export const ComputeSaved = z.object({
  elleRunId: z.number().int().positive(),
  otherRunId: z.number().int().positive(),
  /** the other run's final AP, over `domains` domains */
  target: z.number().nullable(),
  domains: z.number().int().nonnegative(),
  reached: z.boolean(),
  /** ELLE's training wall seconds and FLOPs at the first crossing (linear interpolation between validations) */
  wallS: z.number().nullable(),
  flops: z.number().nullable(),
  otherWallS: z.number(),
  otherFlops: z.number(),
  /** ELLE's need as a fraction of the other run's total; 1 - fraction is the saving */
  wallFraction: z.number().nullable(),
  flopsFraction: z.number().nullable(),
  /**
   * the 95% interval of those fractions, from the two runs' AP intervals: lo where ELLE's lower AP bound first
   * reaches the other's upper bound, hi where ELLE's upper bound reaches the other's lower bound (null: it never
   * did). Absent or null when either run recorded no AP intervals.
   */
  ci: z
    .object({ wallFraction: z.object({ lo: z.number(), hi: z.number().nullable() }).nullable(), flopsFraction: z.object({ lo: z.number(), hi: z.number().nullable() }).nullable() })
    .nullable()
    .optional(),
  sentence: z.string()
})
export type ComputeSaved = z.infer<typeof ComputeSaved>

/**
 * A difference between two methods on a final metric, paired by seed (docs/compare.md): significant only
 * when its 95% interval excludes zero, otherwise "within noise".
 */
export const MethodDifference = z.object({
  metric: z.enum(['apGeo', 'ap', 'apPlus']),
  a: z.string(),
  b: z.string(),
  /** the seeds both methods ran, with the run of each */
  pairs: z.array(z.object({ seed: z.number().int().nullable(), a: z.number().int().positive(), b: z.number().int().positive() })),
  /** mean over seeds of a − b (lower is better for every metric here) */
  mean: z.number(),
  /** null: no interval (one seed, and a run without its own interval): never significant */
  lo: z.number().nullable(),
  hi: z.number().nullable(),
  basis: z.enum(['t-over-seeds', 'one-seed-intervals']),
  significant: z.boolean(),
  /** "lower by 3.1 (95% CI [1.2, 5.0])" or "within noise (…)" */
  verdict: z.string()
})
export type MethodDifference = z.infer<typeof MethodDifference>

export const RunComparison = z.object({
  /** the common stream: the ordered domains of the stream the runs recorded (runs.stream_id; for runs from before streams, their configs' stages) */
  stream: z.array(z.string()),
  runs: z.array(ComparedRun),
  computeSaved: z.array(ComputeSaved),
  /** every pair of methods on geometric AP (the headline), arithmetic AP and AP+ */
  differences: z.array(MethodDifference),
  /** the metric the ranking uses, and why */
  headline: z.object({ metric: z.literal('apGeo'), why: z.string() })
})
export type RunComparison = z.infer<typeof RunComparison>

/** Limits the API enforces; the CLI checks the same constants, so both refuse the same input. */
export const RUNS_LIST_MAX = 10_000
/** runs one comparison takes: the 100 runs of a sweep of methods × seeds and more (the same bound as runs.series) */
export const COMPARE_MAX_RUNS = 200
export const DOMAIN_NAME_MAX = 64
export const DOMAIN_PATHS_MAX = 10_000
export const DOMAIN_DESCRIPTION_MAX = 500

const Empty = z.object({}).strict()
const RunId = z.object({ id: z.number().int().positive() }).strict()

// ---- streams (issue 10): named, ordered lists of domains; a run records the one it ran on --------------
export const STREAM_NAME_MAX = 64
export const STREAM_DOMAINS_MAX = 256

export const StreamSummary = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  /** the domains in training order */
  domains: z.array(z.string()),
  /** the built-in default stream: read-only (duplicate it to change it) */
  builtin: z.boolean(),
  /** runs that recorded this stream */
  runCount: z.number().int().nonnegative(),
  createdAt: z.string()
})
export type StreamSummary = z.infer<typeof StreamSummary>

const StreamName = z.string().trim().min(1).max(STREAM_NAME_MAX)
const StreamDomains = z.array(z.string().min(1).max(DOMAIN_NAME_MAX)).min(1).max(STREAM_DOMAINS_MAX)

/** a domain by id or by name */
const DomainRef = z.union([z.object({ id: z.number().int().positive() }).strict(), z.object({ name: z.string().min(1).max(DOMAIN_NAME_MAX) }).strict()])
/** what a domain may be called (the rule domains.add applies too): letters, digits, "-" and "_", starting with a letter or digit */
export const DOMAIN_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/i
const DomainNameZ = z.string().regex(DOMAIN_NAME_PATTERN, 'a domain name is 1-64 letters, digits, "-" or "_", starting with a letter or digit')
/** characters of each previewed document (domains.get), and how many documents are previewed */
export const DOMAIN_PREVIEW_CHARS = 600
export const DOMAIN_PREVIEW_DOCUMENTS = 3

export const SplitSize = z.object({ documents: z.number().int().nonnegative(), tokens: z.number().int().nonnegative() })
export const DomainDetail = DomainSummary.extend({
  /** documents over all files (null: not counted when it was added) */
  documents: z.number().int().nonnegative().nullable(),
  /** where its corpus is read from (null: the built-in stream prepared it) */
  source: z.object({ paths: z.array(z.string()), format: z.string(), textField: z.string().nullable() }).nullable(),
  /** document and token counts per split, from the token cache (null: not tokenized with the current tokenizer) */
  splits: z.object({ train: SplitSize, validation: SplitSize, test: SplitSize }).nullable(),
  /** the first documents, each cut to DOMAIN_PREVIEW_CHARS characters */
  preview: z.array(z.object({ id: z.string(), text: z.string(), truncated: z.boolean() })),
  /** why there is no preview (its files are gone or unreadable); null when there is one */
  previewProblem: z.string().nullable(),
  /** the labelled downstream tasks scored on it (fine-tuning, forgetting matrix); empty: none */
  tasks: z.array(z.string()),
  /** the streams that list it */
  streams: z.array(z.object({ id: z.number().int().positive(), name: z.string() })),
  /** the runs whose stages trained on it */
  runs: z.array(z.object({ id: z.number().int().positive(), name: z.string(), status: RunStatus }))
})
export type DomainDetail = z.infer<typeof DomainDetail>

const streamMethods = {
  'streams.list': { params: Empty, result: z.object({ streams: z.array(StreamSummary) }) },
  'streams.create': { params: z.object({ name: StreamName, domains: StreamDomains }).strict(), result: StreamSummary },
  'streams.update': {
    params: z.object({ id: z.number().int().positive(), name: StreamName.optional(), domains: StreamDomains.optional() }).strict(),
    result: StreamSummary
  },
  /** refused for the built-in stream and while runs recorded it (the message names them) */
  'streams.delete': { params: RunId, result: StreamSummary },
  /** a copy of any stream (the built-in one too) under a new name; the copy is editable and no run recorded it */
  'streams.duplicate': { params: z.object({ id: z.number().int().positive(), name: StreamName }).strict(), result: StreamSummary },
  /** one domain's facts: split sizes, a preview of its first documents, its task, the runs that trained on it */
  'domains.get': { params: DomainRef, result: DomainDetail },
  /**
   * Rename a domain. Refused for a built-in domain and while runs trained on it (the message names them): a run's
   * config, metrics and experiment identity record the domain by name, so a rename would break what they say.
   * Streams follow the rename (they list domains by id); saved experiments' stages are renamed with it.
   */
  'domains.rename': {
    params: z.union([
      z.object({ id: z.number().int().positive(), newName: DomainNameZ }).strict(),
      z.object({ name: z.string().min(1).max(DOMAIN_NAME_MAX), newName: DomainNameZ }).strict()
    ]),
    result: DomainSummary
  },
  /** by id or name; refused while a stream lists the domain or a run trained on it (the message names them) */
  'domains.delete': { params: DomainRef, result: DomainSummary }
} as const
// ---- end of streams ------------------------------------------------------------------------------------

// ---- saved experiments (issue 13): configs designed in the workbench, kept by name without running them ----
export const SAVED_EXPERIMENT_NAME_MAX = 200

export const SavedExperimentSummary = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  /** the config's own name, its method and its stages' domains: enough to list it */
  method: z.string(),
  domains: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string()
})
export type SavedExperimentSummary = z.infer<typeof SavedExperimentSummary>

export const SavedExperiment = SavedExperimentSummary.extend({ config: RunConfig })
export type SavedExperiment = z.infer<typeof SavedExperiment>

/** Throughput and memory facts for the designer's estimates (src/shared/designer.ts). */
export const DesignEstimate = z.object({
  backend: z.string(),
  /** training stages of earlier runs on this backend: their shape and measured throughput */
  samples: z.array(ThroughputSample),
  /** the engine's memory estimate of each stage of the config, in bytes (null: the config is not valid yet) */
  stageBytes: z.array(z.number().nonnegative()).nullable(),
  /** of that, the tensors the backend must hold, and the backend's own cap on them (wasm: its heap; null: none) */
  stageTensorBytes: z.array(z.number().nonnegative()).nullable(),
  tensorCapBytes: z.number().nonnegative().nullable(),
  /** what one run may plan to use on this machine, and that said in words */
  budgetBytes: z.number().nonnegative(),
  budgetText: z.string()
})
export type DesignEstimate = z.infer<typeof DesignEstimate>

const savedExperimentMethods = {
  /** a saved experiment, by its id among the saved ones (`experiments.list`'s `saved`) */
  'experiments.get': { params: RunId, result: SavedExperiment },
  /** create (no id) or replace (id) a saved experiment; a name another saved experiment has is a conflict */
  'experiments.save': {
    params: z.object({ id: z.number().int().positive().optional(), name: z.string().trim().min(1).max(SAVED_EXPERIMENT_NAME_MAX), config: RunConfig }).strict(),
    result: SavedExperiment
  },
  'experiments.delete': { params: RunId, result: SavedExperimentSummary },
  /** measured throughput on this backend and the memory estimate of a config (absent: only the throughput) */
  'experiments.estimate': { params: z.object({ config: z.unknown().optional() }).strict(), result: DesignEstimate }
} as const
// ---- end of saved experiments ------------------------------------------------------------------------------

// ---- the runs table and saved views (issue 15, docs/runs-table.md) -----------------------------------------
export const RUN_TAGS_MAX = 20
export const RUN_TAG_PATTERN = /^[\w.-]{1,40}$/
export const RUN_NOTE_MAX = 10_000
export const VIEW_NAME_MAX = 80
export const RUN_TABLE_MAX = 10_000

const TableScalar = z.union([z.string(), z.number(), z.boolean(), z.null()])
export const RunTag = z.string().regex(RUN_TAG_PATTERN, 'a tag is 1-40 letters, digits, "_", "." or "-"')

/** One run as the runs table shows it: what the filter query, the sort and the column chooser work on. */
export const RunTableRow = z.object({
  id: z.number().int().positive(),
  experimentId: z.number().int().positive(),
  experiment: z.string(),
  status: RunStatus,
  createdAt: z.string(),
  /** training.seed (null: the config names none that is readable) */
  seed: z.number().int().nullable(),
  /** method.name, or inferred from the config (growth: elle, replay: er, else naive) */
  method: z.string(),
  tags: z.array(z.string()),
  note: z.string(),
  /** the stored run config flattened: `training.lr` → 0.001, `stages.1.domain` → "fiction" */
  config: z.record(z.string(), TableScalar),
  /** final metrics: ap, ap_geo, ap_plus, loss (the last recorded), tokens, wall_s, flops, params, `downstream.<task>` (mean score at the last evaluated checkpoint) */
  final: z.record(z.string(), z.number().nullable())
})
export type RunTableRow = z.infer<typeof RunTableRow>

export const SavedViewSummary = z.object({ id: z.number().int().positive(), name: z.string(), createdAt: z.string(), updatedAt: z.string() })
export type SavedViewSummary = z.infer<typeof SavedViewSummary>
/** missingRuns: the ids of `state.compare.runs` that name no run any more (a client applies the rest and says which) */
export const SavedView = SavedViewSummary.extend({ state: ViewState, missingRuns: z.array(z.number().int().positive()) })
export type SavedView = z.infer<typeof SavedView>

const runTableMethods = {
  /** every run (or those of `ids`) with its config fields and final metrics; `configFields` / `finalFields`: the columns that occur, sorted */
  'runs.table': {
    params: z.object({ ids: z.array(z.number().int().positive()).max(RUN_TABLE_MAX).optional() }).strict(),
    result: z.object({ rows: z.array(RunTableRow), configFields: z.array(z.string()), finalFields: z.array(z.string()) })
  },
  /** replace a run's tags and/or note (absent: kept); tags are kept unique, in the order given */
  'runs.annotate': {
    params: z.object({ id: z.number().int().positive(), tags: z.array(RunTag).max(RUN_TAGS_MAX).optional(), note: z.string().max(RUN_NOTE_MAX).optional() }).strict(),
    result: RunTableRow
  },
  'views.list': { params: Empty, result: z.object({ views: z.array(SavedViewSummary) }) },
  'views.get': { params: RunId, result: SavedView },
  /** create (no id) or replace (id) a saved view; a name another view has is a conflict */
  'views.save': {
    params: z.object({ id: z.number().int().positive().optional(), name: z.string().trim().min(1).max(VIEW_NAME_MAX), state: ViewState }).strict(),
    result: SavedView
  },
  'views.delete': { params: RunId, result: SavedViewSummary }
} as const
// ---- end of the runs table --------------------------------------------------------------------------------

export const DomainAddParams = z
  .object({
    name: z.string().min(1).max(DOMAIN_NAME_MAX),
    /** files, folders or .jsonl files on the machine running the engine */
    paths: z.array(z.string().min(1)).min(1).max(DOMAIN_PATHS_MAX),
    format: z.enum(['auto', 'text', 'jsonl']).optional(),
    textField: z.string().min(1).optional(),
    description: z.string().max(DOMAIN_DESCRIPTION_MAX).optional(),
    /** size caps for this corpus (bytes; default 256 MiB per file, 2 GiB per domain, docs/data.md) */
    maxFileBytes: z.number().int().positive().optional(),
    maxDomainBytes: z.number().int().positive().optional()
  })
  .strict()

// ---- jobs and checkpoints --------------------------------------------------------------------
// Every long operation besides training (evaluate, fine-tune, forgetting matrix, grow, export, import,
// add a domain, prepare the default stream) is a job: started by a method that returns its JobSummary at
// once, run in a worker, reported with job.progress events, cancellable, and recorded in the store.

export const JOB_KINDS = ['evaluate', 'finetune', 'forgetting', 'grow', 'export', 'import', 'domain.add', 'stream.prepare'] as const
export const JobKind = z.enum(JOB_KINDS)
export type JobKind = z.infer<typeof JobKind>

export const JOB_STATUSES = ['queued', 'running', 'finished', 'failed', 'cancelled'] as const
export const JobStatus = z.enum(JOB_STATUSES)
export type JobStatus = z.infer<typeof JobStatus>

export const JobProgress = z.object({
  jobId: z.number().int().positive(),
  /** share done in [0, 1]; null while it cannot be measured (a forgetting matrix reports seeds as it goes) */
  fraction: z.number().min(0).max(1).nullable(),
  /** seconds left at the pace so far; null until measured */
  etaS: z.number().nonnegative().nullable(),
  message: z.string()
})
export type JobProgress = z.infer<typeof JobProgress>

export const JobSummary = z.object({
  id: z.number().int().positive(),
  kind: JobKind,
  /** the parameters it was started with (the starter method's params) */
  params: z.record(z.string(), z.unknown()),
  status: JobStatus,
  progress: JobProgress.nullable(),
  /** the kind's report (the same object the CLI command prints with --json); null until finished */
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  /** the process that runs it (host:pid:uuid) */
  owner: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable()
})
export type JobSummary = z.infer<typeof JobSummary>

export const ModelShape = z.object({
  kind: z.enum(['bert', 'gpt']),
  layers: z.number().int().positive(),
  heads: z.number().int().positive(),
  hidden: z.number().int().positive(),
  ffn: z.number().int().positive(),
  vocabSize: z.number().int().positive(),
  maxLength: z.number().int().positive()
})
export type ModelShape = z.infer<typeof ModelShape>

export const CheckpointSummary = z.object({
  id: z.number().int().positive(),
  runId: z.number().int().positive(),
  step: z.number().int().nonnegative(),
  /** stage-end: closes a training phase (kept); periodic: the latest mid-phase save; stopped: written at a cancel; null: unreadable */
  reason: z.enum(['stage-end', 'periodic', 'stopped']).nullable(),
  /** the newest checkpoint of the run (what a resume starts from) */
  latest: z.boolean(),
  stageIndex: z.number().int().nonnegative().nullable(),
  domain: z.string().nullable(),
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  createdAt: z.string(),
  /** from the checkpoint's config.json; null when its folder is gone or unreadable (then `problem` says why) */
  model: ModelShape.nullable(),
  parameters: z.number().int().nonnegative().nullable(),
  problem: z.string().nullable()
})
export type CheckpointSummary = z.infer<typeof CheckpointSummary>

export const JOBS_LIST_MAX = 10_000
/**
 * The checkpoint a job reads: a stored one by id, or a checkpoint folder on the machine running the engine
 * (what the CLI passes: `elle eval DIR`), exactly one of them.
 */
const CheckpointRef = { checkpointId: z.number().int().positive().optional(), checkpointPath: z.string().min(1).max(4096).optional() }
const oneCheckpoint = { message: 'give exactly one of checkpointId or checkpointPath', path: ['checkpointId'] }
const hasOneCheckpoint = (p: { checkpointId?: number; checkpointPath?: string }): boolean => (p.checkpointId === undefined) !== (p.checkpointPath === undefined)
const Seeds = z.number().int().min(1).max(100)
const PromptChoice = z.enum(['own', 'off', 'wrong'])
const OutDir = z.string().min(1).max(4096)

/** The params of each job starter; a job records them as given. */
export const jobParams = {
  'checkpoints.evaluate': z
    .object({
      ...CheckpointRef,
      /** a domain's validation split, with its prompt */
      domain: z.string().min(1).max(DOMAIN_NAME_MAX).optional(),
      /** or a UTF-8 text file on the machine running the engine */
      textPath: z.string().min(1).max(4096).optional(),
      /** for textPath: prepend this domain's prompt */
      prompt: z.string().min(1).max(DOMAIN_NAME_MAX).optional(),
      maxSequences: z.number().int().min(1).max(1_000_000).optional()
    })
    .strict()
    .refine(hasOneCheckpoint, oneCheckpoint)
    .refine((p) => (p.domain === undefined) !== (p.textPath === undefined), { message: 'give exactly one of domain or textPath', path: ['domain'] })
    .refine((p) => p.prompt === undefined || p.textPath !== undefined, { message: 'prompt applies to textPath only', path: ['prompt'] }),
  'checkpoints.finetune': z
    .object({
      ...CheckpointRef,
      task: z.string().min(1).max(200),
      seeds: Seeds.optional(),
      prompt: PromptChoice.optional(),
      /** fine-tuning updates per seed (default 150) */
      steps: z.number().int().min(1).max(1_000_000).optional()
    })
    .strict()
    .refine(hasOneCheckpoint, oneCheckpoint),
  'runs.forgetting': z
    .object({
      runId: z.number().int().positive(),
      seeds: Seeds.optional(),
      prompt: PromptChoice.optional(),
      backwardOnly: z.boolean().optional(),
      steps: z.number().int().min(1).max(1_000_000).optional()
    })
    .strict(),
  'checkpoints.grow': z
    .object({
      ...CheckpointRef,
      addLayers: z.number().int().min(0).max(100_000),
      addHeads: z.number().int().min(0).max(100_000),
      addFfn: z.number().int().min(0).max(100_000).optional(),
      mode: z.enum(['exact', 'elle']),
      noise: z.number().nonnegative().optional(),
      globalNoise: z.boolean().optional(),
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1)
        .optional(),
      rampSteps: z.number().int().min(1).max(100_000_000).optional(),
      optimizer: z.enum(['drop', 'grow']).optional(),
      /** default: a new folder under the data directory's grown/ */
      outDir: OutDir.optional(),
      overwrite: z.boolean().optional()
    })
    .strict()
    .refine(hasOneCheckpoint, oneCheckpoint),
  'checkpoints.export': z
    .object({ ...CheckpointRef, format: z.literal('hf'), outDir: OutDir, overwrite: z.boolean().optional() })
    .strict()
    .refine(hasOneCheckpoint, oneCheckpoint),
  'checkpoints.import': z
    .object({
      /** a Hugging Face model folder (as elle export writes it) */
      path: z.string().min(1).max(4096),
      /** the checkpoint folder to write; default: a new folder under the data directory's imported/ */
      outDir: OutDir.optional(),
      overwrite: z.boolean().optional()
    })
    .strict(),
  'streams.prepareDefault': Empty
} as const

// ---- the run queue (issue 14, docs/queue.md) --------------------------------------------------------------
// Every run trains through one persistent queue in the store: runs.start adds its run at the top (after other
// runs.start entries), queue.add at the bottom (or by priority). An entry is keyed by its run's id: the run is
// created (status queued) when the entry is added, so the experiment's stored config is the snapshot taken at
// enqueue time. The queue's order, its settings and its paused flag survive restarts; see docs/queue.md.
export const QUEUE_SLOTS_MAX = 16
export const QUEUE_GROUP_MAX = 120
export const QUEUE_AFTER_MAX = 100
export const QUEUE_SWEEP_MAX = 500
export const QUEUE_PRIORITY_MAX = 1000
/** the priority runs.start and runs.resume give their entry: ahead of every entry added with a lower one */
export const QUEUE_START_PRIORITY = QUEUE_PRIORITY_MAX

/**
 * waiting: will start when a slot is free, its dependencies finished, the window is open and the queue not paused
 *   (blockedBy says which of these holds it back);
 * running; paused: stopped at a checkpoint because the window closed or the queue was paused, continues by itself;
 * interrupted: the process training it stopped unexpectedly and auto-resume is off (queue.retry resumes it);
 * stopped: its budget ran out, stopped with a checkpoint (queue.retry continues it with a fresh budget);
 * failed, cancelled: queue.retry resumes from the newest checkpoint (or starts over when there is none);
 * finished: listed only with includeFinished.
 */
export const QUEUE_ENTRY_STATES = ['waiting', 'running', 'paused', 'interrupted', 'stopped', 'failed', 'cancelled', 'finished'] as const
export const QueueEntryState = z.enum(QUEUE_ENTRY_STATES)
export type QueueEntryState = z.infer<typeof QueueEntryState>

/** Stop a run cleanly (with a checkpoint) after `hours` of training in this queue, or at the time `until`; one or both. */
export const QueueBudget = z
  .object({
    hours: z.number().positive().max(10_000).optional(),
    /** an ISO date-time with offset, e.g. 2026-12-03T07:00:00+01:00 */
    until: z.iso.datetime({ offset: true }).optional()
  })
  .strict()
  .refine((b) => b.hours !== undefined || b.until !== undefined, { message: 'give hours, until or both', path: ['hours'] })
export type QueueBudget = z.infer<typeof QueueBudget>

const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time HH:MM (24 h)')
/**
 * When the queue may train, in the engine's local time zone (or QueueSettings.timezone).
 * daily: from `start` to `end` (an end before the start is on the next day: 20:00-07:30), starting on `days`
 *   (0 = Sunday … 6 = Saturday; weekdays: [1,2,3,4,5]);
 * cron: opens whenever the 5-field cron expression fires and stays open `minutes` minutes ("0 20 * * 1-5" and 690).
 * A window of zero length, or a cron expression that never fires, is refused naming the field.
 */
export const QueueWindow = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('daily'), start: ClockTime, end: ClockTime, days: z.array(z.number().int().min(0).max(6)).min(1).max(7) }).strict(),
  z
    .object({
      kind: z.literal('cron'),
      cron: z.string().trim().min(1).max(200),
      minutes: z
        .number()
        .int()
        .positive()
        .max(7 * 24 * 60)
    })
    .strict()
])
export type QueueWindow = z.infer<typeof QueueWindow>

export const QueueSettings = z.object({
  /** runs trained at once (default 1) */
  slots: z.number().int().min(1).max(QUEUE_SLOTS_MAX),
  /** null: always open */
  window: QueueWindow.nullable(),
  /** IANA zone the window is read in (null: the engine's local time) */
  timezone: z.string().min(1).max(64).nullable(),
  /** at engine start, resume runs whose process died (true) or mark them interrupted (false); default true */
  autoResume: z.boolean(),
  /** a running run with no progress for this many minutes is reported stalled (run.notice stalled; default 15) */
  stallMinutes: z
    .number()
    .positive()
    .max(24 * 60),
  /** given to entries added without their own budget (null: none) */
  defaultBudget: QueueBudget.nullable(),
  /**
   * run on every notice: the program and its arguments (no shell), with RUN_ID, STATUS (the notice kind) and
   * MESSAGE in its environment; null: none
   */
  notifyCommand: z.array(z.string().min(1).max(4096)).min(1).max(64).nullable(),
  /**
   * the whole queue's budget: at this time (ISO) running runs pause at a checkpoint and the queue pauses, until the
   * user resumes it (then this is cleared); null: none. queue.settings also takes stopAfterHours (now + N hours).
   */
  stopAt: z.iso.datetime({ offset: true }).nullable()
})
export type QueueSettings = z.infer<typeof QueueSettings>

/** The remaining wall time of an entry: from its live progress (running), else estimateWall over its stages. */
export const QueueEstimate = z.object({
  seconds: z.number().nonnegative(),
  source: z.enum(['progress', 'measured', 'scaled', 'guess']),
  note: z.string()
})
export type QueueEstimate = z.infer<typeof QueueEstimate>

/** Fields every queue entry has, a run's or a job's. */
const QueueEntryCommon = {
  /** 0-based place in the queue order (finished entries: -1) */
  position: z.number().int(),
  priority: z.number().int(),
  state: QueueEntryState,
  /** why a waiting entry does not start now ("after run 12 (running)", "outside the window until 20:00", "the queue is paused", "all 1 slots busy"); null otherwise */
  blockedBy: z.string().nullable(),
  group: z.string().nullable(),
  /** run ids that must finish before this one starts */
  after: z.array(z.number().int().positive()),
  /** job ids that must finish before this one starts */
  afterJobs: z.array(z.number().int().positive()),
  estimate: QueueEstimate.nullable(),
  enqueuedAt: z.string(),
  /** the last reason it stopped or failed (the run's error, "window closed", "budget: 2 h reached") */
  message: z.string().nullable()
}

export const QueueRunEntry = z.object({
  kind: z.literal('run'),
  runId: z.number().int().positive(),
  ...QueueEntryCommon,
  run: RunSummary,
  /** the config's method (named or inferred), seed and name: what a queue row shows */
  method: z.string(),
  seed: z.number().int().nullable(),
  configName: z.string(),
  budget: QueueBudget.nullable(),
  /** training seconds counted against the budget so far */
  trainedS: z.number().nonnegative()
})
export type QueueRunEntry = z.infer<typeof QueueRunEntry>

/**
 * A job in the queue (queue.addJob): recorded (status queued) when queued, started by a queue runner when its
 * dependencies finished, the queue is not paused, the window is open and a slot is free (a job takes one).
 * States: waiting, running, finished, failed, cancelled, interrupted (its process died; jobs are not resumable,
 * so queue.retry starts it over).
 */
export const QueueJobEntry = z.object({
  kind: z.literal('job'),
  jobId: z.number().int().positive(),
  ...QueueEntryCommon,
  job: JobSummary,
  /** what it does, for a row: "evaluate checkpoint 7 (run 3, step 200) on domain news" */
  what: z.string()
})
export type QueueJobEntry = z.infer<typeof QueueJobEntry>

export const QueueEntry = z.discriminatedUnion('kind', [QueueRunEntry, QueueJobEntry])
export type QueueEntry = z.infer<typeof QueueEntry>

export const QueueState = z.object({
  entries: z.array(QueueEntry),
  paused: z.boolean(),
  settings: QueueSettings,
  /** the window is open now (true without a window) */
  windowOpen: z.boolean(),
  /** when the window next opens (closed) or closes (open); null without a window */
  nextWindowChange: z.string().nullable(),
  /** sum of the remaining estimates over the waiting, paused and running entries, divided over the slots */
  etaS: z.number().nonnegative().nullable(),
  /** when the queue should be through, counting closed windows (ISO date-time); null when nothing is queued */
  finishAt: z.string().nullable(),
  /** something trains now in this process (what keeps the machine awake) */
  trainingActive: z.boolean(),
  now: z.string()
})
export type QueueState = z.infer<typeof QueueState>

/** An entry by its run ({ runId }) or its job ({ jobId }). */
const QueueRef = z.union([z.object({ runId: z.number().int().positive() }).strict(), z.object({ jobId: z.number().int().positive() }).strict()])
export type QueueRef = z.infer<typeof QueueRef>
const onlyOneRef = (p: { runId?: number; jobId?: number }): boolean => (p.runId === undefined) !== (p.jobId === undefined)
const onlyOneRefMessage = { message: 'give exactly one of runId or jobId', path: ['runId'] }
const QueueGroup = z.string().trim().min(1).max(QUEUE_GROUP_MAX)
const QueueAfter = z.array(z.number().int().positive()).max(QUEUE_AFTER_MAX)
/** The job starters queue.addJob can queue, each with its own params. */
const QueuedJob = z.discriminatedUnion('method', [
  z.object({ method: z.literal('checkpoints.evaluate'), params: jobParams['checkpoints.evaluate'] }).strict(),
  z.object({ method: z.literal('checkpoints.finetune'), params: jobParams['checkpoints.finetune'] }).strict(),
  z.object({ method: z.literal('runs.forgetting'), params: jobParams['runs.forgetting'] }).strict(),
  z.object({ method: z.literal('checkpoints.grow'), params: jobParams['checkpoints.grow'] }).strict(),
  z.object({ method: z.literal('checkpoints.export'), params: jobParams['checkpoints.export'] }).strict(),
  z.object({ method: z.literal('checkpoints.import'), params: jobParams['checkpoints.import'] }).strict(),
  z.object({ method: z.literal('domains.addJob'), params: DomainAddParams }).strict()
])
export type QueuedJob = z.infer<typeof QueuedJob>
const QueuePriority = z.number().int().min(-QUEUE_PRIORITY_MAX).max(QUEUE_PRIORITY_MAX)
const QueueStream = z.union([z.number().int().positive(), z.string().min(1)])
/** What the entry trains: a config, a preset by name or a saved experiment by id; exactly one. */
const QueueSource = {
  config: RunConfig.optional(),
  preset: z.string().min(1).max(200).optional(),
  savedExperiment: z.number().int().positive().optional()
}
const oneSource = (p: { config?: unknown; preset?: string; savedExperiment?: number }): boolean =>
  [p.config, p.preset, p.savedExperiment].filter((x) => x !== undefined).length === 1
const oneSourceMessage = { message: 'give exactly one of config, preset or savedExperiment', path: ['config'] }

/** One swept option: a dotted path into the config (method.lambda, training.lr, replay.ratio) and its values. */
export const SweepOption = z
  .object({
    path: z.string().regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/, 'expected a dotted path such as method.lambda'),
    values: z
      .array(z.union([z.number(), z.string(), z.boolean()]))
      .min(1)
      .max(50)
  })
  .strict()
export type SweepOption = z.infer<typeof SweepOption>

const queueMethods = {
  /** the queue in order (finished entries too with includeFinished), its flags, window and ETA */
  'queue.list': { params: z.object({ includeFinished: z.boolean().optional() }).strict(), result: QueueState },
  /**
   * Add a run to the queue (created now, status queued): at the bottom, or before every entry of lower priority.
   * Refused, with nothing stored, for an unknown dependency, a dependency cycle or a bad budget (the message names the field).
   */
  'queue.add': {
    params: z
      .object({
        ...QueueSource,
        stream: QueueStream.optional(),
        /** start a new run even when an earlier unfinished run of the same config could be resumed */
        fresh: z.boolean().optional(),
        priority: QueuePriority.optional(),
        after: QueueAfter.optional(),
        /** jobs (queue.addJob) that must finish first */
        afterJobs: QueueAfter.optional(),
        group: QueueGroup.optional(),
        budget: QueueBudget.optional()
      })
      .strict()
      .refine(oneSource, oneSourceMessage),
    result: z.object({ entries: z.array(QueueEntry) })
  },
  /**
   * Queue a job (evaluate, fine-tune, forgetting matrix, grow, export, import, add a domain) instead of starting it
   * now: recorded at once (status queued, its params resolved now), placed like a run, started by a queue runner
   * after its dependencies (runs in `after`, jobs in `afterJobs`) finished. The job starters themselves still start at once.
   */
  'queue.addJob': {
    params: z.object({ job: QueuedJob, priority: QueuePriority.optional(), after: QueueAfter.optional(), afterJobs: QueueAfter.optional(), group: QueueGroup.optional() }).strict(),
    result: QueueJobEntry
  },
  /**
   * Move an entry (by runId or jobId): to a 0-based index, the top or the bottom, or swap it with another entry
   * (swapWith: a run id, or { runId } / { jobId }); answers the queue.
   */
  'queue.move': {
    params: z
      .object({
        runId: z.number().int().positive().optional(),
        jobId: z.number().int().positive().optional(),
        to: z.union([z.literal('top'), z.literal('bottom'), z.number().int().nonnegative()]).optional(),
        swapWith: z.union([z.number().int().positive(), QueueRef]).optional()
      })
      .strict()
      .refine(onlyOneRef, onlyOneRefMessage)
      .refine((p) => (p.to === undefined) !== (p.swapWith === undefined), { message: 'give exactly one of to or swapWith', path: ['to'] }),
    result: QueueState
  },
  /** Change an entry's priority, dependencies, group or budget (null removes a budget or group; a job has no budget). */
  'queue.update': {
    params: z
      .object({
        runId: z.number().int().positive().optional(),
        jobId: z.number().int().positive().optional(),
        priority: QueuePriority.optional(),
        after: QueueAfter.optional(),
        afterJobs: QueueAfter.optional(),
        group: QueueGroup.nullable().optional(),
        budget: QueueBudget.nullable().optional()
      })
      .strict()
      .refine(onlyOneRef, onlyOneRefMessage),
    result: QueueEntry
  },
  /** Take an entry out of the queue: a waiting or paused run (or waiting job) is cancelled; a running one is refused (cancel it first). */
  'queue.remove': { params: QueueRef, result: QueueEntry },
  /** Put a failed, cancelled, interrupted or stopped entry back in the queue (a run resumes from its newest checkpoint; a job starts over). */
  'queue.retry': { params: QueueRef, result: QueueEntry },
  /** Stop starting entries; running runs pause at a checkpoint and continue after queue.resume. */
  'queue.pause': { params: Empty, result: QueueState },
  'queue.resume': { params: Empty, result: QueueState },
  /** Read (no fields) or change the queue's settings; a bad window, zone or budget is refused naming the field. */
  'queue.settings': {
    params: z
      .object({
        slots: z.number().int().min(1).max(QUEUE_SLOTS_MAX).optional(),
        window: QueueWindow.nullable().optional(),
        timezone: z.string().min(1).max(64).nullable().optional(),
        autoResume: z.boolean().optional(),
        stallMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .optional(),
        defaultBudget: QueueBudget.nullable().optional(),
        notifyCommand: z.array(z.string().min(1).max(4096)).min(1).max(64).nullable().optional(),
        stopAt: z.iso.datetime({ offset: true }).nullable().optional(),
        /** sets stopAt to now plus this many hours */
        stopAfterHours: z.number().positive().max(10_000).optional()
      })
      .strict()
      .refine((p) => p.stopAt === undefined || p.stopAfterHours === undefined, { message: 'give stopAt or stopAfterHours, not both', path: ['stopAfterHours'] }),
    result: QueueSettings
  },
  /**
   * Queue the cross product methods × seeds × options (one or two swept options) of one experiment config, as a
   * group: each run's config is the base with method.name, training.seed and the options set (named
   * "<group> <method> seed=<s> <path>=<v>"). Every combination is checked before any is queued.
   */
  'queue.sweep': {
    params: z
      .object({
        ...QueueSource,
        group: QueueGroup,
        methods: z.array(z.string().min(1).max(40)).min(1).max(20).optional(),
        seeds: z
          .array(
            z
              .number()
              .int()
              .min(0)
              .max(2 ** 31 - 1)
          )
          .min(1)
          .max(100)
          .optional(),
        options: z.array(SweepOption).max(2).optional(),
        stream: QueueStream.optional(),
        priority: QueuePriority.optional(),
        budget: QueueBudget.optional()
      })
      .strict()
      .refine(oneSource, oneSourceMessage),
    result: z.object({ group: z.string(), entries: z.array(QueueEntry) })
  }
} as const

/** What the engine tells the user about a run (native notification, browser Notification, the command hook). */
export const RUN_NOTICE_KINDS = ['finished', 'failed', 'non-finite', 'stalled', 'interrupted', 'paused', 'budget'] as const
export const RunNotice = z.object({
  kind: z.enum(RUN_NOTICE_KINDS),
  runId: z.number().int().positive(),
  experimentName: z.string(),
  /** one line: "run 7 failed: loss is NaN at step 812", "run 7 stalled: no progress for 15 min" */
  message: z.string(),
  at: z.string()
})
export type RunNotice = z.infer<typeof RunNotice>
// ---- end of the run queue ------------------------------------------------------------------------------------

export const contract = {
  'system.info': { params: Empty, result: SystemInfo },
  'runs.list': {
    params: z.object({ status: RunStatus.optional(), limit: z.number().int().min(1).max(RUNS_LIST_MAX).optional() }).strict(),
    result: z.object({ runs: z.array(RunSummary) })
  },
  'runs.get': { params: RunId, result: RunDetail },
  'runs.start': {
    // the config's schema and rules between fields (src/shared/run-config.ts); the engine then checks domains and memory
    // stream: the stream (id or name) to record; it must list the config's stage domains in order
    params: z.object({ config: RunConfig, fresh: z.boolean().optional(), stream: z.union([z.number().int().positive(), z.string().min(1)]).optional() }).strict(),
    result: RunSummary
  },
  'runs.resume': { params: RunId, result: RunSummary },
  'runs.cancel': { params: RunId, result: RunSummary },
  'runs.progress': { params: RunId, result: z.object({ progress: RunProgress.nullable() }) },
  'runs.metrics': {
    params: z
      .object({ id: z.number().int().positive(), names: z.array(z.string().min(1)).max(200).optional(), maxPoints: z.number().int().min(2).max(100_000).optional() })
      .strict(),
    result: z.object({ series: z.array(MetricSeries) })
  },
  /** curves of any series of any runs, bucketed, smoothed and grouped (src/shared/series.ts) */
  'runs.series': { params: SeriesQuery, result: SeriesResult },
  'runs.compare': {
    params: z.object({ ids: z.array(z.number().int().positive()).min(1).max(COMPARE_MAX_RUNS) }).strict(),
    result: RunComparison
  },
  /**
   * Every point of the runs' series as one long-format CSV (run_id, run_label, metric, phase, stage, domain, step,
   * tokens, wall_s, flops, value). metrics: exact names, or `prefix/*` for a family (`ppl/*`); absent: every series.
   */
  'runs.exportCsv': {
    params: z.object({ ids: z.array(z.number().int().positive()).min(1).max(COMPARE_MAX_RUNS), metrics: z.array(z.string().min(1).max(200)).min(1).max(200).optional() }).strict(),
    result: z.object({ csv: z.string(), rows: z.number().int().nonnegative() })
  },
  /** The standalone HTML report of runs.compare's comparison (what `elle compare --report` writes); reference: the downstream table's reference run (one of ids; default the first). */
  'runs.report': {
    params: z.object({ ids: z.array(z.number().int().positive()).min(1).max(COMPARE_MAX_RUNS), reference: z.number().int().positive().optional() }).strict(),
    result: z.object({ html: z.string() })
  },
  'domains.list': { params: Empty, result: z.object({ domains: z.array(DomainSummary) }) },
  'domains.add': {
    params: DomainAddParams,
    result: z.object({
      name: z.string(),
      promptSlot: z.number().int(),
      tokens: z.number().int(),
      documents: z.number().int(),
      /** links and special files found inside folders, left out with the reason */
      skipped: z.array(z.object({ file: z.string(), reason: z.string() }))
    })
  },
  'presets.list': {
    params: Empty,
    result: z.object({ presets: z.array(z.object({ name: z.string(), description: z.string(), config: RunConfig })) })
  },
  /** experiments: those runs were made of (by config hash), and those saved by name in the designer */
  'experiments.list': { params: Empty, result: z.object({ experiments: z.array(ExperimentSummary), saved: z.array(SavedExperimentSummary) }) },
  /** the config a run was started with (what cloning a run starts from) */
  'runs.config': { params: RunId, result: z.object({ config: RunConfig }) },
  ...streamMethods,
  ...savedExperimentMethods,
  ...runTableMethods,
  ...queueMethods,
  // jobs and checkpoints (see the block above the contract)
  'jobs.list': {
    params: z.object({ status: JobStatus.optional(), kind: JobKind.optional(), limit: z.number().int().min(1).max(JOBS_LIST_MAX).optional() }).strict(),
    result: z.object({ jobs: z.array(JobSummary) })
  },
  'jobs.get': { params: z.object({ id: z.number().int().positive() }).strict(), result: JobSummary },
  'jobs.cancel': { params: z.object({ id: z.number().int().positive() }).strict(), result: JobSummary },
  'checkpoints.list': { params: z.object({ runId: z.number().int().positive() }).strict(), result: z.object({ checkpoints: z.array(CheckpointSummary) }) },
  'checkpoints.evaluate': { params: jobParams['checkpoints.evaluate'], result: JobSummary },
  'checkpoints.finetune': { params: jobParams['checkpoints.finetune'], result: JobSummary },
  'runs.forgetting': { params: jobParams['runs.forgetting'], result: JobSummary },
  'checkpoints.grow': { params: jobParams['checkpoints.grow'], result: JobSummary },
  'checkpoints.export': { params: jobParams['checkpoints.export'], result: JobSummary },
  'checkpoints.import': { params: jobParams['checkpoints.import'], result: JobSummary },
  'streams.prepareDefault': { params: jobParams['streams.prepareDefault'], result: JobSummary },
  /** domains.add as a job: returns at once; the job's result is what domains.add returns */
  'domains.addJob': { params: DomainAddParams, result: JobSummary }
} as const

export type Contract = typeof contract
export type Method = keyof Contract
export type Params<M extends Method> = z.input<Contract[M]['params']>
export type Result<M extends Method> = z.infer<Contract[M]['result']>
export const METHODS = Object.keys(contract) as Method[]

export function isMethod(value: unknown): value is Method {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(contract, value)
}

// Events the engine pushes to every connected client.
export const ApiEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run.updated'), run: RunSummary }),
  z.object({ type: z.literal('run.progress'), progress: RunProgress }),
  // this process stopped training a run because another process took it over (the store shows the new owner's status)
  z.object({ type: z.literal('run.lost'), run: RunSummary, error: z.string() }),
  z.object({ type: z.literal('domains.changed') }),
  z.object({ type: z.literal('streams.changed') }),
  z.object({ type: z.literal('experiments.changed') }),
  // a saved view was saved or deleted: refetch views.list
  z.object({ type: z.literal('views.changed') }),
  z.object({ type: z.literal('job.updated'), job: JobSummary }),
  z.object({ type: z.literal('job.progress'), progress: JobProgress }),
  // the queue's entries, order, flags or settings changed: refetch queue.list
  z.object({ type: z.literal('queue.changed') }),
  // a run finished, failed, produced NaN/inf, stalled, was interrupted, paused by the window or stopped by its budget
  z.object({ type: z.literal('run.notice'), notice: RunNotice }),
  // something started or stopped training in this process (Electron keeps the machine awake while active)
  z.object({ type: z.literal('training.active'), active: z.boolean() }),
  // the backend report changed after start (the host reported a backend it probed, e.g. Electron's GPU window)
  z.object({ type: z.literal('backend.changed'), backend: BackendReport })
])
export type ApiEvent = z.infer<typeof ApiEvent>

// The error shape every transport returns; `code` maps to an HTTP status in browser mode.
// unavailable: the store is locked by another process or its disk is full; the request may succeed later
export const ERROR_CODES = ['bad_request', 'not_found', 'unauthorized', 'conflict', 'unavailable', 'internal'] as const
export type ErrorCode = (typeof ERROR_CODES)[number]
export const ApiErrorBody = z.object({ error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }) })
export type ApiErrorBody = z.infer<typeof ApiErrorBody>

/** Facts an error carries besides its message, for clients that act on them (in-process clients see them). */
export interface ApiErrorDetails {
  /** runs.start refused because this earlier run of the same experiment can be resumed */
  resumable?: { runId: number; step: number; status: RunStatus }
}

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ApiErrorDetails = {}
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** One line that names the offending fields, e.g. `runs.get: id: expected number, received string`. */
export function describeZodError(prefix: string, error: z.ZodError): string {
  const parts = error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(params)'
    return `${where}: ${issue.message}`
  })
  return `${prefix}: ${parts.join('; ')}`
}

/** Validate a request's method and params; throws ApiError('bad_request') naming the problem. */
export function parseRequest<M extends Method>(method: unknown, params: unknown): { method: M; params: z.infer<Contract[M]['params']> } {
  if (!isMethod(method)) {
    throw new ApiError('bad_request', `unknown method ${JSON.stringify(method)}; expected one of ${METHODS.join(', ')}`)
  }
  const parsed = contract[method].params.safeParse(params ?? {})
  if (!parsed.success) throw new ApiError('bad_request', describeZodError(method, parsed.error))
  return { method: method as M, params: parsed.data as z.infer<Contract[M]['params']> }
}

/** The client interface the renderer programs against; each transport implements it. */
export interface ApiClient {
  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>>
  onEvent(listener: (event: ApiEvent) => void): () => void
}
