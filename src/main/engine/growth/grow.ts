// Width and depth growth of a TransformerModel's weights (elle-method.md §3, §4; docs/elle.md).
//
// Pure TypeScript on Weights records (kernels [in, out]). Every new tensor is built from an old one by
// index maps: rows (the input side of a kernel) may be split (divided by the duplicate count), zeroed
// or noised; columns (the output side) are copied. The same maps grow the Adam moments.
import { type ModelConfig, parameterCount, validateModelConfig } from '../model/config'
import { describeBudget, formatBytes, formatCount, machineBudget, MAX_TENSOR_ELEMENTS, MODEL_LIMITS, type MemoryBudget } from '../resources/limits'
import { parameterShapes, type GrowthMasks, type WeightData, type Weights } from '../model/model'
import type { AdamWState } from '../model/optim'
import { hashSeed, Rng } from '../model/rng'
import { planDepth } from './depth'
import { balancedChoices, choicesWithReplacement, divisors, headUnitMap } from './maps'
import { checkGrowthState, type GrowthEvent, type GrowthMode, type GrowthState, growthMasks, initialGrowthState } from './state'

/** Default std of elle-mode noise: half our init std 0.02, the reference's 0.01 / 0.02 ratio (§3.4, §15). */
export const DEFAULT_ELLE_NOISE = 0.01
/** Default length of the exact-mode mask ramp, in training steps. */
export const DEFAULT_RAMP_STEPS = 1000

export interface GrowthSpec {
  addLayers: number
  /** Heads to add; hidden = heads * headSize, so this grows the hidden size too. */
  addHeads: number
  /** FFN units to add; default keeps the old ffn/hidden ratio: round(ffn * newHidden / oldHidden). */
  addFfn?: number
  mode: GrowthMode
  /** elle: std of the symmetry-breaking noise (default DEFAULT_ELLE_NOISE); exact: must be 0. */
  noise?: number
  /** elle: also add noise to every tensor (§3.4 (ii)); default true for BERT, false for GPT, as the reference. */
  globalNoise?: boolean
  seed: number
  /** State returned by the previous growth (default: a model never grown). */
  state?: GrowthState | null
  /** exact: training steps over which the masks ramp from 0 to 1 (default DEFAULT_RAMP_STEPS). */
  rampSteps?: number
  /** Copy the last candidate layers instead of random ones (the reference's --add_last ablation). */
  addLast?: boolean
  /** Memory the grown model may take (default: this machine's budget now). */
  memoryBudget?: MemoryBudget
}

/** Everything needed to replay a growth on other tensors of the same layout (the Adam moments). */
export interface GrowthMaps {
  from: ModelConfig
  to: ModelConfig
  mode: GrowthMode
  /** New hidden unit -> old unit (one map for the whole model). */
  hidden: Int32Array
  hiddenScheme: GrowthEvent['hiddenScheme']
  /** Per new layer: new head -> old head of its source layer. */
  heads: Int32Array[]
  /** Per new layer: new FFN unit -> old unit. */
  ffn: Int32Array[]
  /** New layer -> old layer it was built from. */
  layerSources: number[]
  /** Per new layer: an inserted copy (true) or a grown original (false). */
  inserted: boolean[]
  depthInit: GrowthEvent['depthInit']
}

export interface GrowResult {
  config: ModelConfig
  weights: Weights
  /** Store this (checkpoint state `growth`) and pass it to the next growth. */
  state: GrowthState
  /** Masks to set on the model now (TransformerModel.setGrowthMasks); null when none are needed. */
  masks: GrowthMasks | null
  maps: GrowthMaps
}

/** Grows a model's config and weights by the spec; deterministic given spec.seed. */
export function growModel(config: ModelConfig, weights: Weights, spec: GrowthSpec): GrowResult {
  const from = validateModelConfig({ ...config })
  checkWeights(weights, from, 'weights')
  const s = checkSpec(spec, from)
  checkBounds(from, spec, spec.memoryBudget ?? machineBudget())
  const prev = spec.state ?? initialGrowthState(from)
  checkGrowthState(prev, from)
  if (prev.ramp) {
    throw new Error(`growth: the previous growth's masks are still ramping (progress ${prev.ramp.progress.toFixed(3)}); train until they reach 1 first`)
  }

  const d = from.hidden
  const heads = from.heads + spec.addHeads
  const hidden = heads * from.headSize
  const ffn = spec.addFfn !== undefined ? from.ffn + spec.addFfn : Math.round((from.ffn * hidden) / d)
  const to = validateModelConfig({ ...from, layers: from.layers + spec.addLayers, heads, hidden, ffn })

  const exact = spec.mode === 'exact'
  const choose = exact ? balancedChoices : choicesWithReplacement
  const rng = (what: string): Rng => new Rng(hashSeed(spec.seed, what))
  // Uniform duplication keeps LayerNorm statistics only for an integer ratio; a post-LN GPT feeds its
  // last residual LayerNorm straight into the tied output, where no division can be placed.
  const uniformOk = hidden % d === 0 && !(from.kind === 'gpt' && from.norm === 'post')
  const hiddenScheme = exact && hidden !== d && !uniformOk ? 'masked' : 'fpi'
  const depthInit = !exact ? 'copy' : from.norm === 'pre' ? 'identity' : 'gated'
  const depth = planDepth(from.layers, spec.addLayers, prev, rng('depth'), spec.addLast)

  const maps: GrowthMaps = {
    from,
    to,
    mode: spec.mode,
    hidden: choose(d, hidden, rng('hidden')),
    hiddenScheme,
    heads: depth.sources.map((_, k) => choose(from.heads, heads, rng(`layers.${k}.heads`))),
    ffn: depth.sources.map((_, k) => choose(from.ffn, ffn, rng(`layers.${k}.ffn`))),
    layerSources: depth.sources,
    inserted: depth.inserted,
    depthInit
  }

  const out = applyPlan(weights, buildPlan(maps), s.noise > 0 ? { sigma: s.noise, seed: spec.seed, global: s.globalNoise } : null)

  const gated = depthInit === 'gated' ? depth.inserted.flatMap((ins, k) => (ins ? [k] : [])) : []
  const hiddenFrom = hiddenScheme === 'masked' ? d : null
  const shape = (c: ModelConfig): GrowthEvent['from'] => ({ layers: c.layers, heads: c.heads, hidden: c.hidden, ffn: c.ffn })
  const state: GrowthState = {
    version: prev.version,
    ...depth.book,
    ramp: hiddenFrom !== null || gated.length > 0 ? { hiddenFrom, gatedLayers: gated, progress: 0, steps: s.rampSteps } : null,
    history: [...prev.history, { mode: spec.mode, seed: spec.seed, from: shape(from), to: shape(to), hiddenScheme, depthInit }]
  }
  return { config: to, weights: out, state, masks: growthMasks(state, to), maps }
}

/**
 * Grows Adam moments with the same maps: m and v are copied along the maps (no division, no noise)
 * and are zero wherever the weights were zero-initialised. Approximate: see docs/elle.md.
 */
export function growOptimizerState(adam: AdamWState, maps: GrowthMaps): AdamWState {
  checkWeights(adam.m, maps.from, 'optimizer m')
  checkWeights(adam.v, maps.from, 'optimizer v')
  const plan = buildPlan(maps)
  return { step: adam.step, m: applyPlan(adam.m, plan, null, true), v: applyPlan(adam.v, plan, null, true) }
}

// ---------------------------------------------------------------------------------------------
// Plan: one rule per new tensor

interface AxisRule {
  /** New index -> old index. */
  map: Int32Array
  /** Split-input rule: new index i is divided by div[i] (weights only). */
  div?: Float32Array
  /** New indices >= zeroFrom are zero (weights and moments). */
  zeroFrom?: number
  /** Per-duplicate noise (§3.4 (i)) on new indices >= noiseFrom (weights only). */
  noiseFrom?: number
}

interface TensorRule {
  target: string
  source: string
  /** Axis 0 (the input side of a kernel; the only axis of a vector); absent = unchanged. */
  rows?: AxisRule
  /** Axis 1 (the output side of a kernel); absent = unchanged. */
  cols?: AxisRule
  /** Whole tensor zero (identity-initialised inserted layers). */
  zero?: boolean
}

function buildPlan(maps: GrowthMaps): TensorRule[] {
  const { from, to } = maps
  const d = from.hidden
  const hd = from.headSize
  const masked = maps.hiddenScheme === 'masked'
  const hOut: AxisRule = { map: maps.hidden }
  // fpi: duplicates split what they feed; masked: nothing reads a new unit until its mask opens.
  const hIn: AxisRule = masked ? { map: maps.hidden, zeroFrom: d } : { map: maps.hidden, div: divisors(maps.hidden, d), noiseFrom: d }
  // The LayerNorm whose output meets the tied embedding is divided instead of the (copied) embedding.
  const tiedLn: AxisRule = masked ? hOut : hIn
  const tiedLnName = from.kind === 'bert' ? 'head.ln' : from.norm === 'pre' ? 'final.ln' : `layers.${to.layers - 1}.ln2`

  const rules: TensorRule[] = []
  const dense = (target: string, source: string, rows: AxisRule, cols: AxisRule, zero = false): void => {
    rules.push({ target: `${target}.kernel`, source: `${source}.kernel`, rows, cols, zero })
    rules.push({ target: `${target}.bias`, source: `${source}.bias`, rows: cols, zero })
  }
  const ln = (target: string, source: string): void => {
    const rows = target === tiedLnName ? tiedLn : hOut
    for (const p of ['gamma', 'beta']) rules.push({ target: `${target}.${p}`, source: `${source}.${p}`, rows })
  }

  rules.push({ target: 'embed.token', source: 'embed.token', cols: masked ? { map: maps.hidden, zeroFrom: d } : hOut })
  rules.push({ target: 'embed.position', source: 'embed.position', cols: hOut })
  if (from.kind === 'bert') ln('embed.ln', 'embed.ln')
  maps.layerSources.forEach((src, k) => {
    const t = `layers.${k}`
    const s = `layers.${src}`
    const gAtt = headUnitMap(maps.heads[k]!, hd)
    const gF = maps.ffn[k]!
    const aOut: AxisRule = { map: gAtt }
    const aIn: AxisRule = { map: gAtt, div: divisors(gAtt, from.heads * hd), noiseFrom: from.heads * hd }
    const fOut: AxisRule = { map: gF }
    const fIn: AxisRule = { map: gF, div: divisors(gF, from.ffn), noiseFrom: from.ffn }
    const identity = maps.inserted[k]! && maps.depthInit === 'identity'
    for (const m of ['q', 'k', 'v']) dense(`${t}.attn.${m}`, `${s}.attn.${m}`, hIn, aOut)
    dense(`${t}.attn.o`, `${s}.attn.o`, aIn, hOut, identity)
    ln(`${t}.ln1`, `${s}.ln1`)
    dense(`${t}.ffn.in`, `${s}.ffn.in`, hIn, fOut)
    dense(`${t}.ffn.out`, `${s}.ffn.out`, fIn, hOut, identity)
    ln(`${t}.ln2`, `${s}.ln2`)
  })
  if (from.norm === 'pre') ln('final.ln', 'final.ln')
  if (from.kind === 'bert') {
    dense('head.dense', 'head.dense', hIn, hOut)
    ln('head.ln', 'head.ln')
    rules.push({ target: 'head.bias', source: 'head.bias' })
  }
  return rules
}

interface NoiseOptions {
  sigma: number
  seed: number
  /** Also perturb every element of every tensor (§3.4 (ii)). */
  global: boolean
}

/** Builds every new tensor; `moments` = copy along the maps only (no division, no noise). */
function applyPlan(old: Weights, plan: TensorRule[], noise: NoiseOptions | null, moments = false): Weights {
  const out: Weights = {}
  for (const rule of plan) {
    const src = old[rule.source]!
    const t = expand(src, rule, moments)
    if (noise) addNoise(t, rule, noise)
    out[rule.target] = t
  }
  return out
}

function expand(src: WeightData, rule: TensorRule, moments: boolean): WeightData {
  const R = src.shape[0]!
  const C = src.shape.length === 2 ? src.shape[1]! : 1
  const rmap = rule.rows?.map ?? identityMap(R)
  const cmap = rule.cols?.map ?? identityMap(C)
  const R2 = rmap.length
  const C2 = cmap.length
  const data = new Float32Array(R2 * C2)
  const shape = src.shape.length === 2 ? [R2, C2] : [R2]
  if (rule.zero) return { shape, data }
  const rowZero = rule.rows?.zeroFrom ?? R2
  const colZero = rule.cols?.zeroFrom ?? C2
  const div = moments ? undefined : rule.rows?.div
  for (let i = 0; i < rowZero; i++) {
    const scale = div ? 1 / div[i]! : 1
    const s = rmap[i]! * C
    const o = i * C2
    for (let j = 0; j < colZero; j++) data[o + j] = src.data[s + cmap[j]!]! * scale
  }
  return { shape, data }
}

function addNoise(t: WeightData, rule: TensorRule, noise: NoiseOptions): void {
  const C = t.shape.length === 2 ? t.shape[1]! : 1
  const from = rule.rows?.noiseFrom
  if (from !== undefined && rule.rows?.div && !rule.zero) {
    const rng = new Rng(hashSeed(noise.seed, `noise.duplicate/${rule.target}`))
    for (let i = from * C; i < t.data.length; i++) t.data[i]! += rng.normal() * noise.sigma
  }
  if (noise.global) {
    const rng = new Rng(hashSeed(noise.seed, `noise.global/${rule.target}`))
    for (let i = 0; i < t.data.length; i++) t.data[i]! += rng.normal() * noise.sigma
  }
}

function identityMap(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i)
}

// ---------------------------------------------------------------------------------------------
// Validation

function checkSpec(spec: GrowthSpec, cfg: ModelConfig): { noise: number; globalNoise: boolean; rampSteps: number } {
  const fail = (msg: string): never => {
    throw new Error(`growth: ${msg}`)
  }
  if (spec.mode !== 'exact' && spec.mode !== 'elle') fail(`mode must be 'exact' or 'elle', got ${String(spec.mode)}`)
  for (const f of ['addLayers', 'addHeads', 'addFfn'] as const) {
    const v = spec[f]
    if (v === undefined && f === 'addFfn') continue
    if (!Number.isInteger(v)) fail(`${f} must be an integer, got ${String(v)}`)
    if ((v as number) < 0) fail(`${f} is ${v}: growth cannot shrink a model`)
  }
  if (!Number.isSafeInteger(spec.seed)) fail(`seed must be an integer, got ${String(spec.seed)}`)
  const noise = spec.noise ?? (spec.mode === 'elle' ? DEFAULT_ELLE_NOISE : 0)
  if (!(Number.isFinite(noise) && noise >= 0)) fail(`noise must be a non-negative number, got ${String(spec.noise)}`)
  const globalNoise = spec.globalNoise ?? (spec.mode === 'elle' && cfg.kind === 'bert')
  if (spec.mode === 'exact' && (noise > 0 || spec.globalNoise)) fail('exact mode is function preserving: noise must be 0 and globalNoise off')
  const rampSteps = spec.rampSteps ?? DEFAULT_RAMP_STEPS
  if (!(Number.isInteger(rampSteps) && rampSteps > 0)) fail(`rampSteps must be a positive integer, got ${String(spec.rampSteps)}`)
  return { noise, globalNoise, rampSteps }
}

/**
 * The grown shape must fit before anything is allocated: the new weights (twice: the arrays built here
 * and the model the caller builds from them) within the memory budget, the shape within the model
 * limits, every tensor within MAX_TENSOR_ELEMENTS. Arithmetic only, so 100000 layers are refused at once.
 */
function checkBounds(from: ModelConfig, spec: GrowthSpec, budget: MemoryBudget): void {
  const layers = from.layers + spec.addLayers
  const heads = from.heads + spec.addHeads
  const hidden = heads * from.headSize
  const ffn = spec.addFfn !== undefined ? from.ffn + spec.addFfn : Math.round((from.ffn * hidden) / from.hidden)
  const params = parameterCount({ ...from, layers, hidden, ffn })
  const bytes = 2 * 4 * params
  const need = `the grown model (${layers} layers, ${heads} heads of ${from.headSize} = hidden ${hidden}, ffn ${ffn}) has ${formatCount(params)} parameters and needs about ${formatBytes(bytes)} to build`
  const fail = (msg: string): never => {
    throw new Error(`growth: ${need}; ${msg}`)
  }
  if (bytes > budget.bytes) fail(describeBudget(budget))
  if (layers > MODEL_LIMITS.layers) fail(`a model has at most ${MODEL_LIMITS.layers} layers (${from.layers} + ${spec.addLayers} asked for)`)
  if (heads > MODEL_LIMITS.heads) fail(`a model has at most ${MODEL_LIMITS.heads} heads (${from.heads} + ${spec.addHeads} asked for)`)
  const largest = Math.max(hidden * hidden, hidden * ffn, from.vocabSize * hidden)
  if (largest > MAX_TENSOR_ELEMENTS) fail(`its largest tensor would have ${largest.toExponential(2)} values; a tensor holds at most ${MAX_TENSOR_ELEMENTS} (2^31 - 1)`)
}

function checkWeights(w: Weights, cfg: ModelConfig, what: string): void {
  const shapes = parameterShapes(cfg)
  const missing = [...shapes.keys()].filter((n) => !(n in w))
  const unknown = Object.keys(w).filter((n) => !shapes.has(n))
  if (missing.length || unknown.length) {
    throw new Error(`growth: ${what} do not match the config: missing [${missing.slice(0, 5).join(', ')}], unknown [${unknown.slice(0, 5).join(', ')}]`)
  }
  for (const [n, shape] of shapes) {
    const t = w[n]!
    const size = shape.reduce((a, b) => a * b, 1)
    if (t.shape.join() !== shape.join() || t.data.length !== size) {
      throw new Error(`growth: ${what} tensor ${n} has shape [${t.shape}] (${t.data.length} values), the config needs [${shape}]`)
    }
  }
}
