// What each kind of job stores as its result (issue 10): one zod schema per kind. The engine checks a
// finished job's result with its kind's schema before storing it (a result that breaks it fails the job as
// an engine bug), and clients read a job's result through `jobResult`, typed by the kind they started.
// A stored number that was NaN (a mean over no seeds) reads back as null: JSON has no NaN.
import { z } from 'zod'
import { ModelShape, type JobKind } from './contract'

const Num = z.number().nullable()
const MeanStd = z.object({ mean: Num, std: Num, n: z.number().int().nonnegative() })
const PromptChoice = z.enum(['own', 'off', 'wrong'])
const FinetuneSettings = z.looseObject({ steps: z.number().int().positive(), batchSize: z.number().int().positive(), lr: z.number() })
const SeedScore = z.looseObject({ seed: z.number().int(), accuracy: Num, macroF1: Num, trainLoss: Num, seconds: z.number() })
/** a model config as checkpoints write it: the shape the contract names, and the rest of the config */
const ModelConfigShape = z.looseObject(ModelShape.shape)
const FileInfo = z.object({ name: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string() })

/** `evaluate`: loss and perplexity of a checkpoint on a domain's validation split or on a text file. */
export const EvaluateResult = z.object({
  checkpoint: z.string(),
  /** the domain's name, or the text file's absolute path */
  on: z.string(),
  loss: z.number(),
  ppl: z.number(),
  tokens: z.number().int().nonnegative(),
  sequences: z.number().int().nonnegative(),
  /** 95% bootstrap interval of ppl over documents (null: one document; absent: stored before intervals) */
  ci: z.object({ lo: z.number(), hi: z.number() }).nullable().optional()
})

/** `finetune`: one task, k seeds (engine/downstream FinetuneReport). */
export const FinetuneResult = z.looseObject({
  checkpoint: z.string(),
  task: z.string(),
  domain: z.string(),
  kind: z.enum(['classification', 'tagging']),
  prompt: PromptChoice,
  promptToken: z.string().nullable(),
  seenDomains: z.array(z.string()).nullable(),
  settings: FinetuneSettings.extend({ maxLength: z.number().int().positive() }),
  seeds: z.array(SeedScore.extend({ scored: z.number().int().nonnegative(), truncatedWords: z.number().int().nonnegative() })),
  accuracy: MeanStd,
  macroF1: MeanStd,
  majority: z.object({ label: z.string(), accuracy: Num, macroF1: Num }),
  stored: z.object({ runId: z.number().int().positive(), checkpointId: z.number().int().positive(), rows: z.number().int().nonnegative() }).nullable()
})

const MetricMatrix = z.looseObject({
  R: z.array(z.array(Num)),
  std: z.array(z.array(Num)),
  baseline: z.array(Num),
  bwt: Num,
  fwt: Num
})

/** `forgetting`: the per-run matrix of downstream scores after each stage (engine/downstream DownstreamMatrixReport). */
export const ForgettingResult = z.looseObject({
  runId: z.number().int().positive(),
  prompt: PromptChoice,
  seeds: z.array(z.number().int()),
  settings: FinetuneSettings,
  stages: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      domain: z.string(),
      task: z.string().nullable(),
      seen: z.array(z.string()),
      checkpointId: z.number().int().nullable(),
      checkpointPath: z.string().nullable(),
      step: z.number().int().nullable()
    })
  ),
  accuracy: MetricMatrix,
  macroF1: MetricMatrix,
  cells: z.array(
    z.looseObject({
      stage: z.number().int(),
      taskStage: z.number().int(),
      task: z.string(),
      checkpointId: z.number().int().nullable(),
      forward: z.boolean(),
      reused: z.array(z.number())
    })
  )
})

/** Logits of the checkpoint before and after growing, on one fixed batch of random tokens (engine/growth/preservation.ts). */
export const GrowAgreement = z.object({
  batch: z.object({ source: z.literal('random-tokens'), sequences: z.number().int().positive(), length: z.number().int().positive(), seed: z.number().int() }),
  maxAbsDiff: z.number(),
  maxAbsLogit: z.number(),
  maxRelErr: z.number(),
  kl: z.number(),
  /** share of positions whose argmax token is the same */
  argmaxAgreement: z.number().min(0).max(1)
})
export type GrowAgreement = z.infer<typeof GrowAgreement>

/** `grow`: the grown checkpoint's folder, shapes before and after, and how it grew. */
export const GrowResult = z.object({
  from: z.string(),
  to: z.string(),
  mode: z.enum(['exact', 'elle']),
  before: ModelConfigShape,
  after: ModelConfigShape,
  hiddenScheme: z.string(),
  depthInit: z.string(),
  layerSources: z.array(z.number().int()),
  /** exact growth's masks and the steps over which they ramp to 1; null when nothing ramps */
  ramp: z.looseObject({ steps: z.number().int().positive() }).nullable(),
  optimizer: z.enum(['grown', 'dropped']),
  sha256: z.string(),
  /** the function-preservation check: logits before vs after on a fixed batch (absent in results stored before it existed) */
  agreement: GrowAgreement.optional()
})

/** `export`: the Hugging Face model folder written. */
export const ExportResult = z.object({
  path: z.string(),
  architecture: z.enum(['BertForMaskedLM', 'GPT2LMHeadModel']),
  bytes: z.number().int().nonnegative(),
  files: z.array(FileInfo),
  /** the exported checkpoint's sha256 */
  checkpointSha256: z.string()
})

/** `import`: the checkpoint folder written from a Hugging Face model. */
export const ImportResult = z.object({
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  files: z.array(FileInfo.extend({ path: z.string() })),
  architecture: z.enum(['BertForMaskedLM', 'GPT2LMHeadModel']),
  config: ModelConfigShape
})

/** `domain.add`: the new domain, with the corpus entries that were not read. */
export const DomainAddResult = z.object({
  name: z.string(),
  promptSlot: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  documents: z.number().int().nonnegative(),
  skipped: z.array(z.object({ file: z.string(), reason: z.string() }))
})

/** `stream.prepare`: the built-in stream's domains. */
export const StreamPrepareResult = z.object({ domains: z.array(z.string()) })

export const JOB_RESULTS = {
  evaluate: EvaluateResult,
  finetune: FinetuneResult,
  forgetting: ForgettingResult,
  grow: GrowResult,
  export: ExportResult,
  import: ImportResult,
  'domain.add': DomainAddResult,
  'stream.prepare': StreamPrepareResult
} as const satisfies Record<JobKind, z.ZodType>

export type JobResults = { [K in JobKind]: z.infer<(typeof JOB_RESULTS)[K]> }
export type JobResult<K extends JobKind> = JobResults[K]

/** A job's stored result read as its kind's; throws (naming the field) when it does not match. */
export function jobResult<K extends JobKind>(kind: K, result: unknown): JobResult<K> {
  const parsed = JOB_RESULTS[kind].safeParse(result)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`the ${kind} job's result does not match its schema: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`)
  }
  return parsed.data as JobResult<K>
}
