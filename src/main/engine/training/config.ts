// The run configuration: what `elle run CONFIG.json` reads and what the API accepts.
// One schema; every error names the field (e.g. `stages.1.steps: must be at least 1`).
import { z } from 'zod'
import { describeZodError } from '../../../shared/contract'
import { MODEL_LIMITS } from '../resources/limits'

export const ModelShape = z
  .object({
    kind: z.enum(['bert', 'gpt']),
    layers: z.number().int().min(1).max(MODEL_LIMITS.layers),
    heads: z.number().int().min(1).max(MODEL_LIMITS.heads),
    headSize: z.number().int().min(1).max(MODEL_LIMITS.headSize),
    /** default 4 x hidden */
    ffn: z.number().int().min(1).optional(),
    /** default: post-LN for BERT, pre-LN for GPT */
    norm: z.enum(['pre', 'post']).optional(),
    dropout: z.number().min(0).max(0.9).default(0)
  })
  .strict()
export type ModelShape = z.infer<typeof ModelShape>

export const TrainingSettings = z
  .object({
    /** tokens per sequence, special and prompt tokens included */
    seqLen: z.number().int().min(8).max(4096).default(64),
    /** sequences per micro-batch */
    batchSize: z.number().int().min(1).max(4096).default(16),
    /** micro-batches per optimizer update */
    accumulation: z.number().int().min(1).max(1024).default(1),
    lr: z.number().positive().max(1).default(1e-3),
    /** share of each stage's steps spent warming the learning rate up (then linear decay to 0) */
    warmupFraction: z.number().min(0).max(1).default(0.08),
    weightDecay: z.number().min(0).max(1).default(0.01),
    /** global gradient-norm clip; 0 disables */
    clipNorm: z.number().min(0).default(1),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    /** validate every seen domain every K updates (and at the end of each stage) */
    validateEvery: z.number().int().min(1).default(50),
    /** sequences per domain in each validation (fixed, from the validation split) */
    validationSequences: z.number().int().min(1).max(100_000).default(64),
    /** write a checkpoint every M updates (and at the end of each stage) */
    checkpointEvery: z.number().int().min(1).default(200),
    /** domain prompt token in every sample: the domain's own, none, or another domain's (the "wrong prompt" ablation) */
    prompts: z.enum(['own', 'off', 'wrong']).default('own')
  })
  .strict()
export type TrainingSettings = z.infer<typeof TrainingSettings>

/** Growth applied before a stage (ELLE adds layers and heads as each new domain arrives). */
export const GrowthIncrement = z
  .object({
    layers: z.number().int().min(0).default(0),
    heads: z.number().int().min(0).default(0),
    /** FFN units added per layer; default keeps the FFN at its ratio to the hidden size */
    ffn: z.number().int().min(0).optional(),
    /** optional check: the hidden size after growth (must equal heads x headSize) */
    hidden: z.number().int().min(1).optional()
  })
  .strict()
export type GrowthIncrement = z.infer<typeof GrowthIncrement>

export const ReplaySettings = z
  .object({
    /** share of micro-batches per update taken from earlier domains' memories (0 disables replay) */
    ratio: z.number().min(0).max(1).default(0),
    /** how the memory domain of a replayed micro-batch is drawn */
    weights: z.enum(['uniform', 'adaptive']).default('adaptive')
  })
  .strict()
export type ReplaySettings = z.infer<typeof ReplaySettings>

export const MemorySettings = z
  .object({
    /** share of each domain's training sequences kept as its memory */
    fraction: z.number().gt(0).max(1).default(0.1),
    /** or a fixed budget in tokens per domain (wins over fraction) */
    tokens: z.number().int().positive().optional()
  })
  .strict()
export type MemorySettings = z.infer<typeof MemorySettings>

export const GrowthSettings = z
  .object({
    /** exact: function preserving to float32 tolerance; elle: the reference's random maps and noise */
    mode: z.enum(['exact', 'elle']).default('elle'),
    /** std of the per-duplicate noise (elle mode) */
    noise: z.number().min(0).max(1).default(0.01),
    /** also add noise to every weight after growth (the reference's BERT runs) */
    globalNoise: z.boolean().default(false),
    /** reset Adam at growth (the reference) or grow its moments with the weights */
    optimizer: z.enum(['reset', 'grow']).default('reset'),
    /** steps over which masks on new units ramp from 0 to 1 (exact mode, non-integer ratios and post-LN depth) */
    rampSteps: z.number().int().min(1).default(100),
    /** learning rate of the warm-up: the start of the next stage's schedule (the reference) or a schedule of its own */
    frwSchedule: z.enum(['next-stage', 'own']).default('next-stage')
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
    /** strength of the quadratic penalty lambda/2 * sum F (theta - theta*)^2 */
    lambda: nonNegative().default(10_000),
    /** online EWC decay of the earlier Fisher when a new one is added (1: plain sum) */
    gamma: unit().default(1),
    /** memory micro-batches the Fisher is estimated on after each domain */
    samples: memoryBatches().default(16)
  })
  .strict()

export const MasSettings = z
  .object({
    name: z.literal('mas'),
    /** strength of the penalty lambda * sum Omega (theta - theta*)^2 */
    lambda: nonNegative().default(1),
    /** memory micro-batches the importance is estimated on after each domain */
    samples: memoryBatches().default(16)
  })
  .strict()

export const AgemSettings = z
  .object({
    name: z.literal('agem'),
    /** memory micro-batches averaged into the reference gradient of each update */
    refBatches: memoryBatches().default(1)
  })
  .strict()

export const LogitKdSettings = z
  .object({
    name: z.literal('logit-kd'),
    /** weight of the distillation term: loss = (1 - alpha) * LM + alpha * KD */
    alpha: unit().default(0.5),
    /** softmax temperature of teacher and student (the reference: 2) */
    temperature: z.number().gt(0, 'must be > 0').max(100, 'must be <= 100').default(2),
    /** alpha decays linearly to 0 over this many updates of each stage (the reference's max(0, 1 - t/T)); 0 keeps it constant */
    decaySteps: z.number().int('must be an integer').min(0, 'must be >= 0').default(0)
  })
  .strict()

export const RewarmSettings = z
  .object({
    name: z.literal('rewarm'),
    /** the learning rate each stage re-warms to (default: training.lr) */
    peakLr: z.number().gt(0, 'must be > 0').max(1, 'must be <= 1').optional(),
    /** share of each stage spent re-warming (default: training.warmupFraction) */
    warmupFraction: unit().optional(),
    /** each stage re-decays to minLrRatio x peakLr (Ibrahim et al.: 0.1) */
    minLrRatio: unit().default(0.1)
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
export type MethodOf<N extends MethodName> = Extract<MethodSettings, { name: N }>

export const StageConfig = z
  .object({
    domain: z.string().min(1),
    steps: z.number().int().min(1).max(10_000_000),
    /** growth before this stage (not allowed on the first) */
    grow: GrowthIncrement.optional(),
    /** function-recovering warm-up: steps on the previous domain's memory before this stage (ELLE §5) */
    frwSteps: z.number().int().min(0).max(10_000_000).default(0),
    /** this stage's replay settings (default: the run's) */
    replay: ReplaySettings.partial().optional()
  })
  .strict()
export type StageConfig = z.infer<typeof StageConfig>

export const RunConfig = z
  .object({
    name: z.string().min(1).max(200),
    model: ModelShape,
    training: TrainingSettings.default(TrainingSettings.parse({})),
    growth: GrowthSettings.default(GrowthSettings.parse({})),
    replay: ReplaySettings.default(ReplaySettings.parse({})),
    memory: MemorySettings.default(MemorySettings.parse({})),
    /** the lifelong method; absent: inferred from the config (growth: elle, replay: er, else naive) */
    method: MethodSettings.optional(),
    stages: z.array(StageConfig).min(1)
  })
  .strict()
export type RunConfig = z.infer<typeof RunConfig>
export type RunConfigInput = z.input<typeof RunConfig>

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Parse and check a config; impossible shapes are refused here, before any data is touched. */
export function parseRunConfig(raw: unknown, source = 'config'): RunConfig {
  const parsed = RunConfig.safeParse(raw)
  if (!parsed.success) throw new ConfigError(describeZodError(source, parsed.error))
  const config = parsed.data
  const { model, training } = config
  const minSeq = model.kind === 'bert' ? 4 : 2
  if (training.seqLen < minSeq) throw new ConfigError(`${source}: training.seqLen: must be at least ${minSeq} for ${model.kind}`)
  let heads = model.heads
  config.stages.forEach((stage, i) => {
    const at = `${source}: stages.${i}`
    if (i === 0 && stage.grow && (stage.grow.layers > 0 || stage.grow.heads > 0 || (stage.grow.ffn ?? 0) > 0)) {
      throw new ConfigError(`${at}.grow: the first stage trains the initial model; growth applies before later stages`)
    }
    if (i === 0 && stage.frwSteps > 0) throw new ConfigError(`${at}.frwSteps: the first stage has no earlier domain to recover on`)
    if (stage.grow) {
      heads += stage.grow.heads
      if (stage.grow.hidden !== undefined && stage.grow.hidden !== heads * model.headSize) {
        throw new ConfigError(
          `${at}.grow.hidden: ${stage.grow.hidden} does not match ${heads} heads x head size ${model.headSize} = ${heads * model.headSize}; width grows by whole heads`
        )
      }
    }
  })
  checkMethod(config, source)
  return config
}

/** Methods that keep the initial size all run long (growth is ELLE's; joint and scratch start at the final size). */
const FIXED_SIZE: readonly MethodName[] = ['naive', 'er', 'ewc', 'mas', 'agem', 'logit-kd', 'pnn', 'rewarm']

/** The method a config runs: `method` when given, else what its settings describe (as the comparison infers it). */
export function methodOf(config: RunConfig): MethodSettings {
  if (config.method) return config.method
  if (config.stages.some((s) => hasGrowth(s.grow))) return { name: 'elle' }
  return replays(config) ? { name: 'er' } : { name: 'naive' }
}

const hasGrowth = (grow: GrowthIncrement | undefined): boolean => !!grow && (grow.layers > 0 || grow.heads > 0 || (grow.ffn ?? 0) > 0)
const replays = (config: RunConfig): boolean => config.replay.ratio > 0 || config.stages.some((s) => (s.replay?.ratio ?? 0) > 0)

/** A named method must agree with the rest of the config: no setting is silently ignored. */
function checkMethod(config: RunConfig, source: string): void {
  const method = config.method
  if (!method) return
  const name = method.name
  const fail = (field: string, message: string): never => {
    throw new ConfigError(`${source}: ${field}: ${message}`)
  }
  config.stages.forEach((stage, i) => {
    if (FIXED_SIZE.includes(name) && hasGrowth(stage.grow)) fail(`stages.${i}.grow`, `method "${name}" trains at a fixed size; growth belongs to "elle" (remove it, or use method "elle")`)
    if (name !== 'elle' && stage.frwSteps > 0) fail(`stages.${i}.frwSteps`, `the function-recovering warm-up belongs to "elle", not method "${name}"`)
  })
  const replayField = config.replay.ratio > 0 ? 'replay.ratio' : `stages.${config.stages.findIndex((s) => (s.replay?.ratio ?? 0) > 0)}.replay.ratio`
  if (['naive', 'pnn', 'joint', 'scratch'].includes(name) && replays(config)) {
    const why = name === 'naive' ? 'has no memory (use "er" to replay)' : name === 'pnn' ? 'keeps each domain in its own column' : 'already trains on every domain it has seen'
    fail(replayField, `must be 0: method "${name}" ${why}`)
  }
  if ((name === 'er' || name === 'rewarm') && !replays(config)) fail('replay.ratio', `method "${name}" replays memory: set a ratio above 0`)
}

/**
 * The shape after each stage's growth, stage by stage: what ELLE trains each stage at. Arithmetic only,
 * so absurd growth requests (100 million layers) are measured, not built.
 */
export function growthPath(config: RunConfig): ModelShape[] {
  const m = config.model
  let { layers, heads } = m
  let ffn = m.ffn ?? 4 * m.heads * m.headSize
  return config.stages.map((s) => {
    if (hasGrowth(s.grow)) {
      const grow = s.grow!
      // the growth operator's rule: added units, else the FFN keeps its ratio to the hidden size
      ffn = grow.ffn !== undefined ? ffn + grow.ffn : Math.round((ffn * (heads + grow.heads)) / heads)
      layers += grow.layers
      heads += grow.heads
    }
    return { ...m, layers, heads, ffn }
  })
}

/**
 * The shape the run's schedule reaches: the initial shape plus every stage's growth. ELLE grows to it;
 * joint and scratch train a model of this size from the start.
 */
export function finalModelShape(config: RunConfig): ModelShape {
  return growthPath(config).at(-1)!
}

/** Named shapes for quick runs: `elle run --model gpt --size tiny`. */
export const SIZES = {
  tiny: { layers: 2, heads: 2, headSize: 32 },
  small: { layers: 4, heads: 4, headSize: 64 }
} as const
export type SizeName = keyof typeof SIZES

export function quickRunConfig(options: { kind: 'bert' | 'gpt'; size: SizeName; domain: string; steps: number; seed?: number }): RunConfig {
  const steps = options.steps
  return parseRunConfig({
    name: `${options.kind}-${options.size}-${options.domain}`,
    model: { kind: options.kind, ...SIZES[options.size] },
    training: {
      seed: options.seed ?? 0,
      validateEvery: Math.max(1, Math.min(50, Math.round(steps / 10))),
      checkpointEvery: Math.max(1, Math.min(500, Math.round(steps / 2)))
    },
    stages: [{ domain: options.domain, steps }]
  })
}
