// The run configuration's schema: what `elle run CONFIG.json`, `runs.start` and `presets.list` carry.
// Shared by the engine and the renderer, so a config is typed and validated the same on both sides (the renderer: while
// it is typed); every issue has a path (`stages.1.grow.hidden`). What needs engine facts (known domains, the
// memory estimate) is checked in the engine (training/config.ts, resources/). docs/run-config.schema.json
// is generated from here (`npm run schema`).
import { z } from 'zod'

/** The ranges of a model's shape, after growth too (the resource estimate and the growth operator use the same). */
export const MODEL_LIMITS = { layers: 96, heads: 128, headSize: 512 } as const

export const ModelShape = z
  .object({
    kind: z.enum(['bert', 'gpt']),
    layers: z.number().int().min(1).max(MODEL_LIMITS.layers),
    heads: z.number().int().min(1).max(MODEL_LIMITS.heads),
    headSize: z.number().int().min(1).max(MODEL_LIMITS.headSize),
    ffn: z.number().int().min(1).optional().describe('default 4 x hidden'),
    norm: z.enum(['pre', 'post']).optional().describe('default: post-LN for BERT, pre-LN for GPT'),
    dropout: z.number().min(0).max(0.9).default(0)
  })
  .strict()
export type ModelShape = z.infer<typeof ModelShape>

export const TrainingSettings = z
  .object({
    seqLen: z.number().int().min(8).max(4096).default(64).describe('tokens per sequence, special and prompt tokens included'),
    batchSize: z.number().int().min(1).max(4096).default(16).describe('sequences per micro-batch'),
    accumulation: z.number().int().min(1).max(1024).default(1).describe('micro-batches per optimizer update'),
    lr: z.number().positive().max(1).default(1e-3),
    warmupFraction: z.number().min(0).max(1).default(0.08).describe("share of each stage's steps spent warming the learning rate up (then linear decay to 0)"),
    weightDecay: z.number().min(0).max(1).default(0.01),
    clipNorm: z.number().min(0).default(1).describe('global gradient-norm clip; 0 disables'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    validateEvery: z.number().int().min(1).default(50).describe('validate every seen domain every K updates (and at the end of each stage)'),
    validationSequences: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(0)
      .describe('sequences (blocks) per domain in each validation, fixed and spread evenly over the validation split, across its documents; 0: the whole split'),
    validationTokens: z
      .number()
      .int()
      .min(0)
      .max(10_000_000)
      .default(0)
      .describe(
        'instead of a sequence count: the fewest evenly spread blocks per domain whose scored target tokens reach this many (the whole split when it has fewer); 0: not used'
      ),
    workers: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(1)
      .describe(
        'threads that train the run together (data-parallel: each computes the gradients of a share of every micro-batch; the update equals the one-thread update to float rounding)'
      ),
    checkpointEvery: z.number().int().min(1).default(200).describe('write a checkpoint every M updates (and at the end of each stage)'),
    prompts: z
      .enum(['own', 'off', 'wrong'])
      .default('own')
      .describe(`domain prompt token in every sample: the domain's own, none, or another domain's (the "wrong prompt" ablation)`)
  })
  .strict()
export type TrainingSettings = z.infer<typeof TrainingSettings>

/** Growth applied before a stage (ELLE adds layers and heads as each new domain arrives). */
export const GrowthIncrement = z
  .object({
    layers: z.number().int().min(0).default(0),
    heads: z.number().int().min(0).default(0),
    ffn: z.number().int().min(0).optional().describe('FFN units added per layer; default keeps the FFN at its ratio to the hidden size'),
    hidden: z.number().int().min(1).optional().describe('optional check: the hidden size after growth (must equal heads x headSize)')
  })
  .strict()
export type GrowthIncrement = z.infer<typeof GrowthIncrement>

export const ReplaySettings = z
  .object({
    ratio: z.number().min(0).max(1).default(0).describe("share of micro-batches per update taken from earlier domains' memories (0 disables replay)"),
    weights: z.enum(['uniform', 'adaptive']).default('adaptive').describe('how the memory domain of a replayed micro-batch is drawn')
  })
  .strict()
export type ReplaySettings = z.infer<typeof ReplaySettings>

export const MemorySettings = z
  .object({
    fraction: z.number().gt(0).max(1).default(0.1).describe("share of each domain's training sequences kept as its memory"),
    tokens: z.number().int().positive().optional().describe('or a fixed budget in tokens per domain (wins over fraction)')
  })
  .strict()
export type MemorySettings = z.infer<typeof MemorySettings>

export const GrowthSettings = z
  .object({
    mode: z.enum(['exact', 'elle']).default('elle').describe("exact: function preserving to float32 tolerance; elle: the reference's random maps and noise"),
    noise: z.number().min(0).max(1).default(0.01).describe('std of the per-duplicate noise (elle mode)'),
    globalNoise: z
      .boolean()
      .optional()
      .describe('also add noise to every weight after growth (elle mode); default as in the reference: on for BERT (FPI_new.py), off for GPT (FPI_gpt.py)'),
    optimizer: z.enum(['reset', 'grow']).default('reset').describe('reset Adam at growth (the reference) or grow its moments with the weights'),
    rampSteps: z.number().int().min(1).default(100).describe('steps over which masks on new units ramp from 0 to 1 (exact mode, non-integer ratios and post-LN depth)'),
    frwSchedule: z
      .enum(['next-stage', 'own'])
      .default('next-stage')
      .describe("learning rate of the warm-up: the start of the next stage's schedule (the reference) or a schedule of its own")
  })
  .strict()
export type GrowthSettings = z.infer<typeof GrowthSettings>

// ---------------------------------------------------------------------------------------------
// Lifelong methods (docs/baselines.md): every method is plugins on the one loop, chosen by name.

export const METHOD_NAMES = ['naive', 'er', 'ewc', 'mas', 'agem', 'logit-kd', 'pnn', 'joint', 'scratch', 'rewarm', 'elle'] as const
export type MethodName = (typeof METHOD_NAMES)[number]

const nonNegative = () => z.number().min(0, 'must be >= 0')
const unit = () => z.number().min(0, 'must be >= 0').max(1, 'must be <= 1')
const memoryBatches = () => z.number().int('must be an integer').min(1, 'must be >= 1').max(10_000, 'must be <= 10000')

const NoOptions = <N extends MethodName>(name: N) => z.object({ name: z.literal(name) }).strict()

export const EwcSettings = z
  .object({
    name: z.literal('ewc'),
    lambda: nonNegative().default(10_000).describe('strength of the quadratic penalty lambda/2 * sum F (theta - theta*)^2'),
    gamma: unit().default(1).describe('online EWC decay of the earlier Fisher when a new one is added (1: plain sum)'),
    samples: memoryBatches().default(16).describe('memory micro-batches the Fisher is estimated on after each domain'),
    fisher: z
      .enum(['sequence', 'batch'])
      .default('sequence')
      .describe('Fisher from squared per-sequence gradients (the diagonal empirical Fisher) or squared mini-batch gradients (about batchSize times smaller)')
  })
  .strict()

export const MasSettings = z
  .object({
    name: z.literal('mas'),
    lambda: nonNegative().default(1).describe('strength of the penalty lambda * sum Omega (theta - theta*)^2'),
    samples: memoryBatches().default(16).describe('memory micro-batches the importance is estimated on after each domain')
  })
  .strict()

export const AgemSettings = z
  .object({
    name: z.literal('agem'),
    refBatches: memoryBatches().default(1).describe('memory micro-batches averaged into the reference gradient of each update')
  })
  .strict()

export const LogitKdSettings = z
  .object({
    name: z.literal('logit-kd'),
    alpha: unit().default(0.5).describe('weight of the distillation term: loss = (1 - alpha) * LM + alpha * KD'),
    temperature: z.number().gt(0, 'must be > 0').max(100, 'must be <= 100').default(2).describe('softmax temperature of teacher and student (the reference: 2)'),
    decaySteps: z
      .number()
      .int('must be an integer')
      .min(0, 'must be >= 0')
      .default(0)
      .describe("alpha decays linearly to 0 over this many updates of each stage (the reference's max(0, 1 - t/T)); 0 keeps it constant")
  })
  .strict()

export const RewarmSettings = z
  .object({
    name: z.literal('rewarm'),
    peakLr: z.number().gt(0, 'must be > 0').max(1, 'must be <= 1').optional().describe('the learning rate each stage re-warms to (default: training.lr)'),
    warmupFraction: unit().optional().describe('share of each stage spent re-warming (default: training.warmupFraction)'),
    minLrRatio: unit().default(0.1).describe('each stage re-decays to minLrRatio x peakLr (Ibrahim et al.: 0.1)')
  })
  .strict()

export const MethodSettings = z.discriminatedUnion(
  'name',
  [
    NoOptions('naive'),
    NoOptions('er'),
    EwcSettings,
    MasSettings,
    AgemSettings,
    LogitKdSettings,
    NoOptions('pnn'),
    NoOptions('joint'),
    NoOptions('scratch'),
    RewarmSettings,
    NoOptions('elle')
  ],
  {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined
      const input: unknown = issue.input
      const name = input !== null && typeof input === 'object' && 'name' in input ? (input as { name: unknown }).name : undefined
      const what = name === undefined ? 'a method name is required' : `unknown method ${JSON.stringify(name)}`
      return `${what}; known methods: ${METHOD_NAMES.join(', ')}`
    }
  }
)
export type MethodSettings = z.infer<typeof MethodSettings>
/** A method as written: options with defaults may be left out. */
export type MethodSettingsInput = z.input<typeof MethodSettings>
export type MethodOf<N extends MethodName> = Extract<MethodSettings, { name: N }>

export const StageConfig = z
  .object({
    domain: z.string().min(1).describe('a domain the store knows (elle domains)'),
    steps: z.number().int().min(1).max(10_000_000),
    grow: GrowthIncrement.optional().describe('growth before this stage (not allowed on the first)'),
    frwSteps: z.number().int().min(0).max(10_000_000).default(0).describe("function-recovering warm-up: steps on the previous domain's memory before this stage (ELLE §5)"),
    replay: ReplaySettings.partial().optional().describe("this stage's replay settings (default: the run's)")
  })
  .strict()
export type StageConfig = z.infer<typeof StageConfig>

const RunConfigObject = z
  .object({
    name: z.string().min(1).max(200).describe('the experiment: runs of the same name and config are runs of one experiment'),
    model: ModelShape.describe('the initial model (growth in stages[].grow makes it larger)'),
    training: TrainingSettings.default(TrainingSettings.parse({})),
    growth: GrowthSettings.default(GrowthSettings.parse({})),
    replay: ReplaySettings.default(ReplaySettings.parse({})),
    memory: MemorySettings.default(MemorySettings.parse({})),
    method: MethodSettings.optional().describe('the lifelong method; absent: inferred from the config (growth: elle, replay: er, else naive)'),
    stages: z.array(StageConfig).min(1).describe('one stage per domain, in the order the domains arrive')
  })
  .strict()

/** A whole run: its schema checks every field, then the rules between fields (crossFieldRules). */
export const RunConfig = RunConfigObject.superRefine(crossFieldRules)
export type RunConfig = z.infer<typeof RunConfig>
export type RunConfigInput = z.input<typeof RunConfig>

/** Growth that changes the model (an increment of zeros, or only a `hidden` check, does not). */
export const hasGrowth = (grow: GrowthIncrement | undefined): boolean => !!grow && (grow.layers > 0 || grow.heads > 0 || (grow.ffn ?? 0) > 0)
/** Replays memory somewhere: the run's ratio or a stage's. */
export const replays = (config: Pick<RunConfig, 'replay' | 'stages'>): boolean => config.replay.ratio > 0 || config.stages.some((s) => (s.replay?.ratio ?? 0) > 0)

/** Methods that keep the initial size all run long (growth is ELLE's; joint and scratch start at the final size). */
export const FIXED_SIZE_METHODS: readonly MethodName[] = ['naive', 'er', 'ewc', 'mas', 'agem', 'logit-kd', 'pnn', 'rewarm']

type RunConfigShape = z.output<typeof RunConfigObject>

/**
 * Rules between fields, each issue at the field to change: the first stage trains the initial model (no
 * growth, no warm-up), width grows by whole heads, and a named method agrees with the rest of the config
 * (no setting is silently ignored). Run only when every field is valid on its own.
 */
function crossFieldRules(config: RunConfigShape, ctx: z.RefinementCtx): void {
  const fail = (path: Array<string | number>, message: string): void => ctx.addIssue({ code: 'custom', path, message })
  const { model, training } = config
  const minSeq = model.kind === 'bert' ? 4 : 2
  if (training.seqLen < minSeq) fail(['training', 'seqLen'], `must be at least ${minSeq} for ${model.kind}`)
  if (training.validationTokens > 0 && training.validationSequences > 0)
    fail(['training', 'validationTokens'], 'set either validationSequences or validationTokens (a block count or a token floor), not both')
  let heads = model.heads
  config.stages.forEach((stage, i) => {
    if (i === 0 && hasGrowth(stage.grow)) fail(['stages', i, 'grow'], 'the first stage trains the initial model; growth applies before later stages')
    if (i === 0 && stage.frwSteps > 0) fail(['stages', i, 'frwSteps'], 'the first stage has no earlier domain to recover on')
    if (stage.grow) {
      heads += stage.grow.heads
      if (stage.grow.hidden !== undefined && stage.grow.hidden !== heads * model.headSize) {
        fail(
          ['stages', i, 'grow', 'hidden'],
          `${stage.grow.hidden} does not match ${heads} heads x head size ${model.headSize} = ${heads * model.headSize}; width grows by whole heads`
        )
      }
    }
  })
  const method = config.method
  if (!method) return
  const name = method.name
  config.stages.forEach((stage, i) => {
    if (FIXED_SIZE_METHODS.includes(name) && hasGrowth(stage.grow))
      fail(['stages', i, 'grow'], `method "${name}" trains at a fixed size; growth belongs to "elle" (remove it, or use method "elle")`)
    if (name !== 'elle' && stage.frwSteps > 0) fail(['stages', i, 'frwSteps'], `the function-recovering warm-up belongs to "elle", not method "${name}"`)
  })
  const replayPath = config.replay.ratio > 0 ? ['replay', 'ratio'] : ['stages', config.stages.findIndex((s) => (s.replay?.ratio ?? 0) > 0), 'replay', 'ratio']
  if (['naive', 'pnn', 'joint', 'scratch'].includes(name) && replays(config)) {
    const why = name === 'naive' ? 'has no memory (use "er" to replay)' : name === 'pnn' ? 'keeps each domain in its own column' : 'already trains on every domain it has seen'
    fail(replayPath, `must be 0: method "${name}" ${why}`)
  }
  if ((name === 'er' || name === 'rewarm') && !replays(config)) fail(['replay', 'ratio'], `method "${name}" replays memory: set a ratio above 0`)
}

/** The JSON Schema of a config as written (defaults optional), for editors and other tools: docs/run-config.schema.json. */
export function runConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(RunConfig, { io: 'input', target: 'draft-2020-12' }),
    title: 'ELLE Workbench run config',
    description:
      'What `elle run CONFIG.json` reads and the runs.start API method takes. Generated from src/shared/run-config.ts by `npm run schema`; rules between fields (first stage cannot grow, hidden = heads x head size, a method agrees with replay and growth) are checked by the workbench, not by this schema.'
  }
}
