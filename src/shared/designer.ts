// The experiment designer's logic, shared by the renderer (as you type) and tests: the model after each stage's
// growth with its parameters and FLOPs, wall-time estimates from throughput measured on this machine, validation
// reported at field paths (`stages[2].grow.heads`), the ELLE reference's equivalent command-line flags, and the
// diff of two configs. Pure: what needs engine facts (measured throughput, the memory estimate and budget) comes
// in as data (the `experiments.estimate` method returns it).
import { z } from 'zod'
import { hasGrowth, MethodSettings, MODEL_LIMITS, RunConfig, type MethodName, type RunConfigInput } from './run-config'

/** The vocabulary of the workbench's one tokenizer (engine data/tokenizer.ts DEFAULT_VOCAB_SIZE; a test keeps them equal). */
export const DESIGNER_VOCAB_SIZE = 8000
/** Share of BERT positions with logits (the masking rate), as the engine counts FLOPs. */
const MLM_RATE = 0.15

export type PathPart = string | number
/** `stages[2].grow.heads`: how the designer names a field (zod's path, array indices in brackets). */
export function formatPath(path: readonly PathPart[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? part : `.${part}`
  }
  return out
}

// ---- shapes, parameters, FLOPs ------------------------------------------------------------------

export interface ShapeMath {
  kind: 'bert' | 'gpt'
  layers: number
  heads: number
  headSize: number
  hidden: number
  ffn: number
  norm: 'pre' | 'post'
  vocabSize: number
  maxLength: number
}

/** Parameters of a model of this shape (the engine's model/config.ts parameterCount; a test keeps them equal). */
export function parameterCount(s: ShapeMath): number {
  const { hidden: d, ffn: f, vocabSize: V } = s
  const embeddings = V * d + s.maxLength * d + (s.kind === 'bert' ? 2 * d : 0)
  const perLayer = 4 * (d * d + d) + 2 * d * f + f + d + 4 * d
  const finalLn = s.norm === 'pre' ? 2 * d : 0
  const head = s.kind === 'bert' ? d * d + d + 2 * d + V : 0
  return embeddings + s.layers * perLayer + finalLn + head
}

/** Training FLOPs per token, forward and backward (the engine's trainingFlopsPerToken; a test keeps them equal). */
export function trainingFlopsPerToken(s: ShapeMath, seqLen: number): number {
  const d = s.hidden
  const nonEmbedding = s.layers * (4 * (d * d + d) + 2 * d * s.ffn + s.ffn + d + 4 * d)
  const outFraction = s.kind === 'bert' ? MLM_RATE : 1
  return 6 * nonEmbedding + 6 * (d * s.vocabSize + (s.kind === 'bert' ? d * d : 0)) * outFraction + 12 * s.layers * seqLen * d
}

/** The model one stage trains, and what the stage costs. */
export interface StagePlan {
  stage: number
  domain: string
  steps: number
  frwSteps: number
  /** the model grew before this stage */
  grown: boolean
  /** what was added before this stage (zeros on the first) */
  added: { layers: number; heads: number; ffn: number }
  shape: ShapeMath
  params: number
  flopsPerToken: number
  /** tokens trained on in the stage (its steps and its warm-up): steps x batch x accumulation x seqLen */
  tokens: number
  flops: number
}

/** The method a config runs: its own, else inferred as the engine does (growth: elle, replay: er, else naive). */
export function methodName(config: RunConfig): MethodName {
  if (config.method) return config.method.name
  if (config.stages.some((s) => hasGrowth(s.grow))) return 'elle'
  if (config.replay.ratio > 0 || config.stages.some((s) => (s.replay?.ratio ?? 0) > 0)) return 'er'
  return 'naive'
}

/** One plan per stage, at the shape the stage trains: ELLE after its growth; joint and scratch at the final size from the start. */
export function planStages(config: RunConfig, vocabSize = DESIGNER_VOCAB_SIZE): StagePlan[] {
  const m = config.model
  const norm = m.norm ?? (m.kind === 'bert' ? 'post' : 'pre')
  let layers = m.layers
  let heads = m.heads
  let ffn = m.ffn ?? 4 * m.heads * m.headSize
  const path = config.stages.map((s) => {
    const before = { layers, heads, ffn }
    if (hasGrowth(s.grow)) {
      const g = s.grow!
      // the growth operator's rule: added units, else the FFN keeps its ratio to the hidden size
      ffn = g.ffn !== undefined ? ffn + g.ffn : Math.round((ffn * (heads + g.heads)) / heads)
      layers += g.layers
      heads += g.heads
    }
    return { layers, heads, ffn, added: { layers: layers - before.layers, heads: heads - before.heads, ffn: ffn - before.ffn } }
  })
  const method = methodName(config)
  const final = path.at(-1)!
  const { batchSize, accumulation, seqLen } = config.training
  return config.stages.map((s, i) => {
    const p = method === 'joint' || method === 'scratch' ? final : path[i]!
    const shape: ShapeMath = { kind: m.kind, layers: p.layers, heads: p.heads, headSize: m.headSize, hidden: p.heads * m.headSize, ffn: p.ffn, norm, vocabSize, maxLength: seqLen }
    const flopsPerToken = trainingFlopsPerToken(shape, seqLen)
    const tokens = (s.steps + s.frwSteps) * batchSize * accumulation * seqLen
    return {
      stage: i,
      domain: s.domain,
      steps: s.steps,
      frwSteps: s.frwSteps,
      grown: method === 'elle' && i > 0 && hasGrowth(s.grow),
      added: path[i]!.added,
      shape,
      params: parameterCount(shape),
      flopsPerToken,
      tokens,
      flops: tokens * flopsPerToken
    }
  })
}

// ---- wall time from measured throughput -----------------------------------------------------------

/** Throughput one training stage of an earlier run reached on this machine's backend (`experiments.estimate`). */
export const ThroughputSample = z.object({
  runId: z.number().int().positive(),
  stage: z.number().int().nonnegative(),
  backend: z.string(),
  kind: z.enum(['bert', 'gpt']),
  layers: z.number().int().positive(),
  hidden: z.number().int().positive(),
  ffn: z.number().int().positive(),
  seqLen: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  tokensPerS: z.number().positive(),
  flopsPerS: z.number().positive()
})
export type ThroughputSample = z.infer<typeof ThroughputSample>

/** What the designer assumes when nothing was measured yet: about what one wasm thread sustains on small models. */
export const GUESS_FLOPS_PER_S = 2e9

export interface WallEstimate {
  seconds: number
  /** measured: runs trained this very shape here; scaled: other shapes' FLOP/s here; guess: nothing measured */
  source: 'measured' | 'scaled' | 'guess'
  note: string
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** The wall time of a stage: from this shape's measured tokens/s, else the FLOP/s measured on other shapes, else a stated guess. */
export function estimateWall(plan: StagePlan, batchSize: number, samples: readonly ThroughputSample[]): WallEstimate {
  const { shape } = plan
  const same = samples.filter(
    (s) => s.kind === shape.kind && s.layers === shape.layers && s.hidden === shape.hidden && s.ffn === shape.ffn && s.seqLen === shape.maxLength && s.batchSize === batchSize
  )
  if (same.length > 0) {
    const tps = median(same.map((s) => s.tokensPerS))
    return {
      seconds: plan.tokens / tps,
      source: 'measured',
      note: `measured: ${same.length} earlier stage${same.length > 1 ? 's' : ''} of this shape ran at ${Math.round(tps)} tokens/s`
    }
  }
  const kindSamples = samples.filter((s) => s.kind === shape.kind)
  const pool = kindSamples.length > 0 ? kindSamples : samples
  if (pool.length > 0) {
    const fps = median(pool.map((s) => s.flopsPerS))
    return {
      seconds: plan.flops / fps,
      source: 'scaled',
      note: `scaled by FLOPs from ${pool.length} measured stage${pool.length > 1 ? 's' : ''} of other shapes (${(fps / 1e9).toFixed(2)} GFLOP/s); this shape was not measured`
    }
  }
  return { seconds: plan.flops / GUESS_FLOPS_PER_S, source: 'guess', note: `a guess: nothing was measured on this backend yet (assumes ${GUESS_FLOPS_PER_S / 1e9} GFLOP/s)` }
}

// ---- validation at field paths --------------------------------------------------------------------

export interface DesignIssue {
  /** `stages[2].grow.heads`; '' for the config as a whole */
  path: string
  message: string
}

/** Engine facts the schema cannot know: the stream's domains, and the memory estimate of each stage against this machine's budget. */
export interface DesignFacts {
  /** the chosen stream's domains in order; absent: not checked */
  streamDomains?: readonly string[]
  streamName?: string
  /** bytes each stage needs (engine estimate) and what a run may plan for here */
  memory?: { stageBytes: readonly number[]; budgetBytes: number; budgetText: string; stageTensorBytes?: readonly number[]; tensorCapBytes?: number | null }
}

/** The facts validation needs, from the engine's estimate (`experiments.estimate`) and the chosen stream. */
export function designFacts(
  estimate: { stageBytes: readonly number[] | null; stageTensorBytes: readonly number[] | null; tensorCapBytes: number | null; budgetBytes: number; budgetText: string } | null,
  stream: { name: string; domains: readonly string[] } | null
): DesignFacts {
  const f: DesignFacts = {}
  if (stream) {
    f.streamDomains = stream.domains
    f.streamName = stream.name
  }
  if (estimate?.stageBytes)
    f.memory = {
      stageBytes: estimate.stageBytes,
      stageTensorBytes: estimate.stageTensorBytes ?? undefined,
      tensorCapBytes: estimate.tensorCapBytes,
      budgetBytes: estimate.budgetBytes,
      budgetText: estimate.budgetText
    }
  return f
}

export interface DesignCheck {
  /** the parsed config (defaults filled) when the schema accepts it */
  config: RunConfig | null
  issues: DesignIssue[]
}

const GROWTH_FIELDS = ['layers', 'heads', 'ffn'] as const

const formatBytes = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${Math.round(n / 1e6)} MB`)

/** Read a field of unknown input without trusting its shape. */
function field(value: unknown, ...keys: PathPart[]): unknown {
  let v = value
  for (const k of keys) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string | number, unknown>)[k]
  }
  return v
}

/**
 * Check a config as typed: the shared schema and its rules between fields, then what a schedule must not do
 * (shrink the model, split a head, grow past the hard limits, name a domain the stream lacks, need more memory
 * than the machine has). Every issue names the field that causes it.
 */
export function validateDesign(input: unknown, facts: DesignFacts = {}): DesignCheck {
  const issues: DesignIssue[] = []
  const seen = new Set<string>()
  const add = (path: readonly PathPart[], message: string): void => {
    const p = formatPath(path)
    if (seen.has(`${p}\u0000${message}`)) return
    seen.add(`${p}\u0000${message}`)
    issues.push({ path: p, message })
  }
  // growth that shrinks: said as such, at the field, instead of the schema's "too small"
  const shrinking = new Set<string>()
  const stages = field(input, 'stages')
  if (Array.isArray(stages)) {
    stages.forEach((_, i) => {
      for (const f of GROWTH_FIELDS) {
        const v = field(stages, i, 'grow', f)
        if (typeof v === 'number' && v < 0) {
          shrinking.add(formatPath(['stages', i, 'grow', f]))
          add(['stages', i, 'grow', f], `${v} would shrink the model: growth only adds ${f === 'ffn' ? 'FFN units' : f} (0 keeps the size)`)
        }
      }
      const hidden = field(stages, i, 'grow', 'hidden')
      const headSize = field(input, 'model', 'headSize')
      if (typeof hidden === 'number' && typeof headSize === 'number' && headSize > 0 && hidden % headSize !== 0)
        add(['stages', i, 'grow', 'hidden'], `hidden ${hidden} is not divisible by the head size ${headSize}: width grows by whole heads`)
    })
  }
  const parsed = RunConfig.safeParse(input)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const p = issue.path.filter((x): x is PathPart => typeof x === 'string' || typeof x === 'number')
      if (shrinking.has(formatPath(p))) continue
      add(p, issue.message)
    }
    return { config: null, issues }
  }
  const config = parsed.data
  const plans = planStages(config)
  let before = { layers: config.model.layers, heads: config.model.heads }
  plans.forEach((plan, i) => {
    if (plan.shape.layers > MODEL_LIMITS.layers && before.layers <= MODEL_LIMITS.layers)
      add(['stages', i, 'grow', 'layers'], `grows to ${plan.shape.layers} layers, beyond the limit of ${MODEL_LIMITS.layers}`)
    if (plan.shape.heads > MODEL_LIMITS.heads && before.heads <= MODEL_LIMITS.heads)
      add(['stages', i, 'grow', 'heads'], `grows to ${plan.shape.heads} heads, beyond the limit of ${MODEL_LIMITS.heads}`)
    before = { layers: plan.shape.layers, heads: plan.shape.heads }
  })
  if (facts.streamDomains) {
    const where = facts.streamName ? `stream "${facts.streamName}"` : 'the stream'
    const domains = facts.streamDomains
    // a run records its stream only when the stages follow it: one stage per domain, in its order
    config.stages.forEach((s, i) => {
      if (!domains.includes(s.domain)) add(['stages', i, 'domain'], `"${s.domain}" is not in ${where} (${domains.join(', ')})`)
      else if (domains[i] !== s.domain)
        add(['stages', i, 'domain'], `${where} has ${domains[i] === undefined ? 'no domain' : `"${domains[i]}"`} at position ${i + 1}; stages follow its order`)
    })
    if (config.stages.length < domains.length) add(['stages'], `${where} has ${domains.length} domains; the schedule has ${config.stages.length} stages (one per domain)`)
  }
  if (facts.memory) {
    const { stageBytes, budgetBytes, budgetText, stageTensorBytes, tensorCapBytes } = facts.memory
    stageBytes.forEach((bytes, i) => {
      if (i >= config.stages.length) return
      const tensors = stageTensorBytes?.[i] ?? 0
      const overCap = tensorCapBytes != null && tensors > tensorCapBytes
      if (bytes <= budgetBytes && !overCap) return
      // at the field that made it large: the growth before the stage, else the initial model
      const p: PathPart[] = i > 0 && hasGrowth(config.stages[i]!.grow) ? ['stages', i, 'grow'] : ['model']
      const what = `stage ${i + 1} (${config.stages[i]!.domain}) needs about ${formatBytes(bytes)}`
      if (overCap) add(p, `${what}, ${formatBytes(tensors)} of it tensors: more than the backend holds (${formatBytes(tensorCapBytes!)})`)
      else add(p, `${what}: more memory than this machine has for a run (${budgetText})`)
    })
  }
  return { config, issues }
}

/** Issues at a field or below it (`stages[1]` collects `stages[1].grow.heads` too). */
export function issuesAt(issues: readonly DesignIssue[], path: string, options: { below?: boolean } = {}): DesignIssue[] {
  return issues.filter((i) => i.path === path || (options.below === true && (i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`))))
}

// ---- the ELLE reference's flags --------------------------------------------------------------------

export interface ReferenceFlags {
  /** one `--flag value` per entry, in the order of the reference's train_base_prompt.sh */
  flags: string[]
  /** what the reference's flags cannot say about this config */
  notes: string[]
}

/**
 * The flags of thunlp/ELLE's `fairseq_cli/train.py` (as in examples/roberta/train_base_prompt.sh) that describe this
 * schedule: colon lists per domain (`--added_layer_num 2:2:1:1`, one entry per transition), the arch name, replay and
 * the function-recovering warm-up (`--recover-update`). Null for configs that are not ELLE.
 */
export function elleReferenceFlags(config: RunConfig): ReferenceFlags | null {
  if (methodName(config) !== 'elle') return null
  const plans = planStages(config)
  const first = plans[0]!.shape
  const t = config.training
  const notes: string[] = []
  const prefix = config.model.kind === 'bert' ? 'roberta' : 'gpt'
  const later = plans.slice(1)
  const flags = [
    `--arch ${prefix}_${first.layers}layer_${first.hidden}hidden_${first.heads}head_${first.ffn}ffn`,
    `--domains ${config.stages.map((s) => s.domain).join(':')}`,
    `--total-num-update ${config.stages.map((s) => s.steps).join(':')}`,
    `--tokens-per-sample ${t.seqLen}`,
    `--batch-size ${t.batchSize}`,
    `--update-freq ${t.accumulation}`,
    `--lr ${t.lr}`,
    `--warmup-ratio ${t.warmupFraction}`,
    `--weight-decay ${t.weightDecay}`,
    `--clip-norm ${t.clipNorm}`,
    `--seed ${t.seed}`,
    `--validation_interval_updates ${t.validateEvery}`
  ]
  if (later.length > 0) {
    flags.push(`--added_layer_num ${later.map((p) => p.added.layers).join(':')}`)
    flags.push(`--added_head_num ${later.map((p) => p.added.heads).join(':')}`)
  }
  const ratio = config.replay.ratio
  if (ratio > 0) flags.push('--replay', `--replay_ratio ${ratio}`)
  const frw = [...new Set(config.stages.slice(1).map((s) => s.frwSteps))]
  if (frw.length === 1 && frw[0]! > 0) flags.push(`--recover-update ${frw[0]}`)
  else if (frw.length > 1) notes.push(`warm-up steps differ per stage (${config.stages.map((s) => s.frwSteps).join(':')}); the reference takes one --recover-update`)
  if (config.growth.mode === 'elle' && config.growth.noise > 0) flags.push('--add-noise')
  if (t.prompts === 'own') flags.push('--use_domain_prompt')
  flags.push('--FPI_new')
  if (config.growth.optimizer === 'reset') flags.push('--reset-optimizer')

  if (config.model.headSize !== 64) notes.push(`head size ${config.model.headSize}: the reference fixes it at 64 (its arch names imply hidden = heads x 64)`)
  if (config.stages.some((s) => s.grow?.ffn !== undefined)) notes.push('FFN increments: the reference keeps ffn = 4 x hidden and has no flag for them')
  if (config.growth.mode === 'exact') notes.push('growth mode "exact" (masked, function preserving) has no reference flag; the reference grows in "elle" mode')
  if (config.growth.noise > 0 && config.growth.noise !== 0.01) notes.push(`noise ${config.growth.noise}: the reference's --add-noise uses 0.01`)
  if (config.stages.some((s) => s.replay !== undefined)) notes.push('per-stage replay settings have no reference flag (it takes one --replay_ratio)')
  if (ratio === 0 && config.stages.some((s) => (s.replay?.ratio ?? 0) > 0)) notes.push('replay is set only per stage; the reference replays all stages or none')
  if (config.memory.tokens !== undefined || config.memory.fraction !== 0.1) notes.push('memory size: the reference reads a pre-made memory directory per domain (--memory_dir)')
  return { flags, notes }
}

// ---- diff -------------------------------------------------------------------------------------------

export interface DiffEntry {
  path: string
  /** undefined: the field is absent on that side */
  left: unknown
  right: unknown
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The fields where two configs differ (identical ones hidden), leaf by leaf, in a stable order. */
export function diffConfigs(left: unknown, right: unknown): DiffEntry[] {
  const out: DiffEntry[] = []
  const walk = (a: unknown, b: unknown, path: PathPart[]): void => {
    if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], [...path, i])
      return
    }
    if (isObject(a) && isObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
      for (const k of keys) walk(a[k], b[k], [...path, k])
      return
    }
    if (a === b) return
    out.push({ path: formatPath(path), left: a, right: b })
  }
  walk(left, right, [])
  return out
}

// ---- starting points ----------------------------------------------------------------------------------

/** A small two-growth ELLE schedule, one stage per given domain: what "from scratch" starts with. */
export function scratchConfig(domains: readonly string[], name = 'my-experiment'): RunConfigInput {
  const picked = domains.length > 0 ? domains : ['press', 'hobbies', 'learned']
  return {
    name,
    model: { kind: 'gpt', layers: 2, heads: 2, headSize: 32 },
    training: { seqLen: 64, batchSize: 16, lr: 1e-3, validateEvery: 20 },
    method: { name: 'elle' },
    replay: { ratio: 0.1 },
    // growth before the second and third domains; later ones train at that size
    stages: picked.map((domain, i) => (i === 0 ? { domain, steps: 200 } : i <= 2 ? { domain, steps: 200, grow: { layers: 1, heads: 1 }, frwSteps: 20 } : { domain, steps: 200 }))
  }
}

/** One option of a method: its unit, range and one-line explanation, read from the shared schema. */
export interface OptionInfo {
  key: string
  unit: string
  description: string
  min: number | null
  max: number | null
  integer: boolean
  optional: boolean
  defaultValue: number | string | undefined
  /** the allowed values of an option that is a choice (such as EWC's `fisher`); null for a number */
  choices: string[] | null
}

const OPTION_UNITS: Record<string, string> = {
  lambda: 'penalty strength',
  gamma: 'decay factor (0-1)',
  samples: 'micro-batches',
  fisher: 'estimate',
  refBatches: 'micro-batches',
  alpha: 'weight (0-1)',
  temperature: 'softmax temperature',
  decaySteps: 'updates',
  peakLr: 'learning rate',
  warmupFraction: 'share of the stage (0-1)',
  minLrRatio: 'ratio of the peak (0-1)'
}

/** What each method does, in one line (docs/baselines.md). */
export const METHOD_SUMMARIES: Record<MethodName, string> = {
  naive: 'train on each domain in turn, nothing against forgetting',
  er: "experience replay: mix micro-batches from earlier domains' memories",
  ewc: 'elastic weight consolidation: penalise moving weights the Fisher says mattered',
  mas: 'memory-aware synapses: penalise moving weights whose output sensitivity was high',
  agem: 'A-GEM: project each update so the loss on memory does not rise',
  'logit-kd': "distil the previous model's logits on memory into the current one",
  pnn: 'progressive networks: a new column per domain, earlier columns frozen',
  joint: 'train on every domain seen so far (an upper bound, not lifelong)',
  scratch: 'a fresh model of the final size per domain (a reference point)',
  rewarm: 're-warm and re-decay the learning rate at each domain, with replay',
  elle: 'ELLE: grow width and depth function-preservingly, warm up, replay, domain prompts'
}

/** An option's unit, range or choices and default, as the label shows them: "penalty strength, 0..inf, default 10000". */
export function optionUnit(o: OptionInfo): string {
  const range = o.choices ? o.choices.join(' | ') : `${o.min ?? '-inf'}..${o.max ?? 'inf'}${o.integer ? ', integer' : ''}`
  return `${o.unit}${o.unit ? ', ' : ''}${range}${o.defaultValue !== undefined ? `, default ${o.defaultValue}` : ''}`
}

/** The options a method takes (none for most), with unit, range and explanation. */
export function methodOptions(name: MethodName): OptionInfo[] {
  const member = MethodSettings.options.find((o) => o.shape.name.value === name)
  if (!member) return []
  const json = z.toJSONSchema(member, { io: 'input' }) as { properties?: Record<string, Record<string, unknown>>; required?: string[] }
  return Object.entries(json.properties ?? {})
    .filter(([key]) => key !== 'name')
    .map(([key, p]) => {
      const num = (k: string): number | null => (typeof p[k] === 'number' ? (p[k] as number) : null)
      return {
        key,
        unit: OPTION_UNITS[key] ?? '',
        description: typeof p.description === 'string' ? p.description : '',
        min: num('minimum') ?? num('exclusiveMinimum'),
        max: num('maximum'),
        integer: p.type === 'integer',
        optional: !(json.required ?? []).includes(key),
        defaultValue: typeof p.default === 'number' || typeof p.default === 'string' ? p.default : undefined,
        choices: Array.isArray(p.enum) ? p.enum.map(String) : null
      }
    })
}
