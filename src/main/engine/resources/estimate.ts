// What a run config asks of the machine, stage by stage after growth, worked out before anything is
// stored: parameters, tensor memory while training, the host-side copies, and the hard limits no machine
// can meet. Engine.startRun refuses what exceeds the budget; growth checks its own request (grow.ts).
//
// Training memory of one stage, in float32 (4 bytes) units; B batch, T seqLen, H heads, d hidden,
// f ffn, L layers, V vocabulary, P parameters, rows = positions with logits (GPT: B·T; BERT: 15% of B·T):
//   weights P + Adam moments 2P + gradients and the optimizer's temporaries 1.5P (+P accumulator when
//   accumulation > 1)
//   + activations kept for the backward pass and its intermediate gradients (tfjs frees neither until the
//     update's tape ends):  4·rows·V + L·(11·B·H·T² + B·T·(50·d + 6·f)) + 22·B·T·d
//   + methods: EWC/MAS 6P (importance, anchor, the penalty's tape), logit-KD P + the teacher's
//     activations, A-GEM 2P (reference gradient), PNN at stage k: k frozen columns (kP), the laterals
//     (L+1)·k·(d²+d) with their gradients and Adam, and k more columns of activations.
// Data-parallel (training.workers W > 1, every method): each thread holds the activations of its ceil(B/W)
// rows of a micro-batch; each of the W-1 replicas holds the trained weights, their gradients and a
// temporary copy (3P; PNN: the newest laterals too) and a runtime of its own (128 MiB, no data), plus for
// logit-KD the teacher (P) and its forward on the replica's rows, for PNN the k frozen columns (kP) and
// their activations; the shared buffers hold the trained weights and each replica's gradients (W·P) and
// the frozen tensors once (the teacher P, or kP of columns).
// Host side: the checkpoint's copies of weights and moments (3P) and the plugin state as base64 JSON
// (importance, teacher, columns: 4/3 x 3 copies), plus a fixed 256 MiB for the worker's runtime and data.
//
// The coefficients are measured, not derived: tf.profile's peakBytes of one update (padId set, as training
// runs) on the wasm backend over 19 shapes (GPT and BERT, L 1-12, d 32-256, T 32-256, B 4-32, V 500-8000)
// fit 3.8·logits + 10.1·scores + L·B·T·(46·d + 4.9·f) + 20·B·T·d + 1.14·P beyond the resident 3P; the
// constants above round each up, so the tensor estimate is 1.06-1.13x the measured peak on all of them
// (elle-bert-paper-shape's last stage: 2.93 GB measured, 3.26 GB estimated; the GPT demo's last: 255 vs
// 281 MB). test/engine/training/resources.test.ts checks a tiny model against tf.profile within 3x.
// The method terms and the host side are counted from the code, not measured. V is the vocabulary of the
// workbench's one tokenizer (the default stream's, DEFAULT_VOCAB_SIZE), which every run uses.
import type { ResourceLimits } from 'node:worker_threads'
import os from 'node:os'
import { DEFAULT_VOCAB_SIZE } from '../data/tokenizer'
import { makeModelConfig, parameterCount } from '../model/config'
import { ConfigError, growthPath, methodOf, parseRunConfig, type MethodName, type RunConfig } from '../training/config'
import { describeBudget, formatBytes, formatCount, MAX_TENSOR_ELEMENTS, MODEL_LIMITS, type MemoryBudget } from './limits'

const F32 = 4
const MiB = 2 ** 20
/** The worker's own runtime, the wasm module and the tokenized domains: not per-parameter, so a flat allowance. */
const WORKER_BASE_BYTES = 256 * MiB
/** A replica thread's runtime and wasm module (it loads no data). */
const REPLICA_BASE_BYTES = 128 * MiB
/** Share of BERT positions that get logits (the masking rate). */
const MLM_RATE = 0.15

export interface StageEstimate {
  /** index in config.stages */
  stage: number
  domain: string
  /** the stage trains a model grown since the first stage */
  grown: boolean
  layers: number
  heads: number
  headSize: number
  hidden: number
  ffn: number
  vocabSize: number
  batchSize: number
  seqLen: number
  /** the model's parameters (PNN: every column and lateral) */
  params: number
  bytes: {
    /** weights, Adam moments, gradients and the optimizer's temporaries */
    parameters: number
    /** activations and their gradients for one micro-batch (with several workers: the coordinator's share of it) */
    activations: number
    /** what the method keeps or computes beyond that (importance, teacher, frozen columns) */
    method: number
    /** every tensor at the peak: what the backend must hold */
    tensors: number
    /** the method's state as checkpointed JSON (base64), in the worker's JS heap */
    state: number
    /** copies outside the backend (checkpoints, plugin state) and the worker's runtime */
    host: number
    /** data-parallel replicas (training.workers > 1): their tensors, runtimes and the shared buffers; 0 for one thread */
    replicas: number
    total: number
  }
}

export interface RunEstimate {
  vocabSize: number
  stages: StageEstimate[]
  /** the stage with the largest total */
  peak: StageEstimate
}

/** One estimate per stage of the config, at the shape the stage trains (ELLE: after its growth). */
export function estimateRun(config: RunConfig, vocabSize = DEFAULT_VOCAB_SIZE): RunEstimate {
  const method = methodOf(config).name
  const path = growthPath(config)
  const final = path.at(-1)!
  const stages = config.stages.map((s, i) => {
    // joint and scratch train the final size from the start; the other methods the path (fixed unless ELLE grows)
    const shape = method === 'joint' || method === 'scratch' ? final : path[i]!
    const grown = method === 'elle' && (shape.layers !== config.model.layers || shape.heads !== config.model.heads || shape.ffn !== path[0]!.ffn)
    return estimateStage(config, method, i, s.domain, grown, shape, vocabSize)
  })
  const peak = stages.reduce((a, b) => (b.bytes.total > a.bytes.total ? b : a))
  return { vocabSize, stages, peak }
}

function estimateStage(
  config: RunConfig,
  method: MethodName,
  stage: number,
  domain: string,
  grown: boolean,
  shape: { kind: 'bert' | 'gpt'; layers: number; heads: number; headSize: number; ffn?: number; norm?: 'pre' | 'post' },
  V: number
): StageEstimate {
  const { batchSize: B, seqLen: T, accumulation } = config.training
  const model = makeModelConfig(shape.kind, { ...shape, vocabSize: V, maxLength: T })
  const { kind, layers: L, heads: H, headSize, hidden: d, ffn: f } = model
  const P = parameterCount(model)
  const rows = kind === 'gpt' ? B * T : Math.ceil(MLM_RATE * B * T)
  const W = Math.min(config.training.workers, B)
  // each thread's share of a micro-batch (the coordinator's shard is the largest)
  const whole = F32 * (4 * rows * V + L * (11 * B * H * T * T + B * T * (50 * d + 6 * f)) + 22 * B * T * d)
  const activations = W > 1 ? (whole * Math.ceil(B / W)) / B : whole
  // what each replica holds for the method (EWC/MAS and A-GEM work on the coordinator only), and the trained
  // parameters beyond the model's (PNN's newest laterals) that are synced and summed like the weights
  const frozenColumns = method === 'pnn' ? stage : 0
  const newestLaterals = (L + 1) * frozenColumns * (d * d + d)
  const replicaMethod = method === 'logit-kd' ? F32 * P + activations : method === 'pnn' ? F32 * (frozenColumns * P + newestLaterals) + frozenColumns * activations : 0
  // shared buffers: the trained weights and each replica's gradients (W copies), and the frozen tensors once (teacher, columns)
  const sharedFrozen = method === 'logit-kd' ? F32 * P : F32 * frozenColumns * P
  const replicas = W > 1 ? (W - 1) * (F32 * 3 * (P + newestLaterals) + activations + replicaMethod + REPLICA_BASE_BYTES) + F32 * W * (P + newestLaterals) + sharedFrozen : 0
  const parameters = F32 * P * (3 + 1.5 + (accumulation > 1 ? 1 : 0))

  // what the method adds: tensors in the backend, and parameters it keeps as checkpointed plugin state
  let extra = 0
  let stateParams = 0
  let columns = 0
  if (method === 'ewc' || method === 'mas') {
    extra = F32 * 6 * P
    stateParams = 2 * P
  } else if (method === 'logit-kd') {
    extra = F32 * P + activations
    stateParams = P
  } else if (method === 'agem') extra = F32 * 2 * P
  else if (method === 'pnn') {
    columns = stage // one frozen column per earlier stage
    const laterals = (L + 1) * columns * (d * d + d)
    extra = F32 * (columns * P + laterals * 4.5) + columns * activations
    stateParams = columns * P + 3 * laterals
  }
  const tensors = parameters + activations + extra
  const state = F32 * stateParams * (4 / 3) * 3
  const host = F32 * 3 * P + state + WORKER_BASE_BYTES
  return {
    stage,
    domain,
    grown,
    layers: L,
    heads: H,
    headSize,
    hidden: d,
    ffn: f,
    vocabSize: V,
    batchSize: B,
    seqLen: T,
    params: P + columns * P + (method === 'pnn' ? (L + 1) * columns * (d * d + d) : 0),
    bytes: { parameters, activations, method: extra, tensors, state, host, replicas, total: tensors + host + replicas }
  }
}

/** `stages.3 ("learned", after growth: 12 layers, 12 heads of 64 = hidden 768, ffn 3072)` */
export function describeStage(s: StageEstimate): string {
  return `stages.${s.stage} (${JSON.stringify(s.domain)}${s.grown ? ', after growth' : ''}: ${s.layers} layers, ${s.heads} heads of ${s.headSize} = hidden ${s.hidden}, ffn ${s.ffn})`
}

/** `about 7.4 GB (1.2 B parameters; activations 5.1 GB at batch 32 x 128)` */
export function describeNeed(s: StageEstimate): string {
  return `about ${formatBytes(s.bytes.total)} (${formatCount(s.params)} parameters; activations ${formatBytes(s.bytes.activations)} at batch ${s.batchSize} x ${s.seqLen})`
}

/** A config the machine cannot hold: a ConfigError, so the API answers bad_request. */
export class ResourceError extends ConfigError {
  constructor(message: string) {
    super(message)
    this.name = 'ResourceError'
  }
}

interface TensorCheck {
  field: string
  what: string
  elements: number
  detail: string
}

/**
 * Limits no machine changes: the shape after growth stays within model.*'s ranges, and no tensor (weights
 * or activations) exceeds MAX_TENSOR_ELEMENTS. Names the field and gives the estimate.
 */
export function checkHardLimits(config: RunConfig, estimate: RunEstimate, source = 'config'): void {
  const fail = (field: string, message: string, s: StageEstimate): never => {
    throw new ResourceError(`${source}: ${field}: ${message}; ${describeStage(s)} would need ${describeNeed(s)}`)
  }
  const initialFfn = config.model.ffn
  for (const s of estimate.stages) {
    const grow = config.stages[s.stage]!.grow
    const at = s.stage === 0 || !grow ? null : `stages.${s.stage}.grow`
    if (s.layers > MODEL_LIMITS.layers) fail(at ? `${at}.layers` : 'model.layers', `the model would have ${s.layers} layers after this growth; at most ${MODEL_LIMITS.layers} (the range of model.layers)`, s)
    if (s.heads > MODEL_LIMITS.heads) fail(at ? `${at}.heads` : 'model.heads', `the model would have ${s.heads} heads after this growth; at most ${MODEL_LIMITS.heads} (the range of model.heads)`, s)
    const widthField = at ? `${at}.heads` : 'model.heads'
    const ffnField = at ? (grow?.ffn !== undefined ? `${at}.ffn` : `${at}.heads`) : 'model.ffn'
    const { hidden: d, ffn: f, batchSize: B, seqLen: T, heads: H, vocabSize: V } = s
    const rows = config.model.kind === 'gpt' ? B * T : Math.ceil(MLM_RATE * B * T)
    const checks: TensorCheck[] = [
      { field: widthField, what: 'each attention kernel', elements: d * d, detail: `hidden ${d} x ${d}` },
      { field: ffnField, what: 'each FFN kernel', elements: d * f, detail: `hidden ${d} x ffn ${f}${!at && initialFfn === undefined ? ' (default 4 x hidden)' : ''}` },
      { field: widthField, what: 'the token embedding', elements: V * d, detail: `vocabulary ${V} x hidden ${d}` },
      { field: 'training.batchSize', what: 'the attention scores', elements: B * H * T * T, detail: `batch ${B} x ${H} heads x ${T} x ${T} positions` },
      { field: 'training.batchSize', what: 'the FFN activations', elements: B * T * f, detail: `batch ${B} x ${T} positions x ffn ${f}` },
      { field: 'training.batchSize', what: 'the logits', elements: rows * V, detail: `${rows} positions x vocabulary ${V}` }
    ]
    for (const c of checks) {
      if (c.elements > MAX_TENSOR_ELEMENTS) {
        fail(c.field, `${c.what} would be one tensor of ${c.elements.toExponential(2)} values (${c.detail}); a tensor holds at most ${MAX_TENSOR_ELEMENTS} (2^31 - 1)`, s)
      }
    }
  }
}

/** Refuse a stage that needs more than the budget (or the backend's tensor cap); names the first such stage. */
export function checkBudget(estimate: RunEstimate, budget: MemoryBudget, source = 'config'): void {
  for (const s of estimate.stages) {
    const cap = budget.tensorCap
    if (cap && s.bytes.tensors > cap.bytes) {
      throw new ResourceError(
        `${source}: ${describeStage(s)} needs ${describeNeed(s)}, ${formatBytes(s.bytes.tensors)} of it tensors; the ${cap.backend} backend holds at most ${formatBytes(cap.bytes)} of tensors`
      )
    }
    if (s.bytes.total > budget.bytes) throw new ResourceError(`${source}: ${describeStage(s)} needs ${describeNeed(s)}; ${describeBudget(budget)}`)
  }
}

/**
 * Everything a new run must pass before it is stored: the hard limits, then the budget. Returns the
 * estimate (the worker's resource limits come from it).
 */
export function checkRunResources(config: RunConfig, options: { budget: MemoryBudget; vocabSize?: number; source?: string }): RunEstimate {
  const estimate = estimateRun(config, options.vocabSize)
  checkHardLimits(config, estimate, options.source)
  checkBudget(estimate, options.budget, options.source)
  return estimate
}

// ---------------------------------------------------------------------------------------------
// Worker limits

/** V8 heap allowance of any worker: JSON, metrics, corpora being tokenized (preparing the default stream needs some). */
const WORKER_HEAP_BASE_MB = 2048

/**
 * `resourceLimits` for a training worker. They bound V8's old generation: the worker's JS objects (run
 * state, metrics, plugin state serialised as base64 JSON at each checkpoint), which grow with the method's
 * state. They do NOT bound tensors: the wasm heap, tfjs ArrayBuffers and native TensorFlow memory live
 * outside V8's heap, so the estimate check before the run is stored is the real guard. What the limit
 * gives: a runaway worker ends alone with ERR_WORKER_OUT_OF_MEMORY (the host marks the run failed) at a
 * size that fits the run, never taking the serving process with it.
 */
export function workerResourceLimits(estimate: RunEstimate | null): ResourceLimits {
  const state = estimate ? Math.max(...estimate.stages.map((s) => s.bytes.state)) : 0
  // bytes.state already counts the base64 strings, the JSON text and its parsed copy; twice that for headroom
  const needMb = WORKER_HEAP_BASE_MB + Math.ceil((2 * state) / MiB)
  const machineMb = Math.floor(os.totalmem() / MiB / 2)
  return { maxOldGenerationSizeMb: Math.max(WORKER_HEAP_BASE_MB, Math.min(needMb, machineMb)) }
}

/** Limits for the training worker of a stored config; the default ones when it does not parse (the worker reports that). */
export function trainingWorkerResourceLimits(rawConfig: unknown): ResourceLimits {
  try {
    return workerResourceLimits(estimateRun(parseRunConfig(rawConfig)))
  } catch {
    return workerResourceLimits(null)
  }
}
