// The plugin API of the training loop: what a plugin sees (TrainingContext), what it is called with
// (phases, step records, validation reports) and the hooks it may implement (TrainingPlugin). Methods
// (replay, growth, EWC, PNN, ...) and services (metrics, checkpoints, progress) are written against this
// file only; the loop that calls them is loop.ts, the data it reads run-data.ts.
import type * as tf from '@tensorflow/tfjs'
import type { z } from 'zod'
import type { BlockBatcher, Batch, IteratorState, Tokenizer } from '../data'
import type { AdamWState, LrSchedule, MicroObjective, Trainer, TransformerModel, Weights } from '../model'
import type { GrowthIncrement, ReplaySettings, RunConfig } from './config'
import type { DomainData } from './data'
import type { DomainMemory } from './memory'

/**
 * One phase of a run. The run's method plans them (methods/registry.ts): most methods turn each configured
 * stage into an optional function-recovering warm-up phase on the previous domain's memory, then a training
 * phase on its own domain; growth happens as the stage begins.
 */
export interface StagePlan {
  /** phase index (what the loop state counts) */
  index: number
  /** the configured stage this phase belongs to */
  stage: number
  kind: 'train' | 'frw'
  /** train: the stage's domain; frw: the previous domain, read from its memory */
  domain: string
  /** every domain whose data this phase trains on, `domain` first (joint: all seen so far; scratch: the stream) */
  domains: string[]
  steps: number
  /** growth to apply as this phase begins (the first phase of a stage only) */
  grow: GrowthIncrement | null
  replay: ReplaySettings
}

/** Everything needed to continue exactly where a run stopped; saved in every checkpoint. */
export interface LoopState {
  stageIndex: number
  stepInStage: number
  globalStep: number
  tokensSeen: number
  /** seconds spent in training updates (validation and checkpointing excluded) */
  wallS: number
  flops: number
  iterators: Record<string, IteratorState>
}

export const initialLoopState = (): LoopState => ({ stageIndex: 0, stepInStage: 0, globalStep: 0, tokensSeen: 0, wallS: 0, flops: 0, iterators: {} })

/** One micro-batch of an update, tagged with the domain it came from. */
export interface MicroBatch {
  domain: string
  batch: Batch
}

export interface StepRecord {
  stage: StagePlan
  step: number
  stepInStage: number
  loss: number
  /** the method's penalty term (EWC, MAS); 0 without one */
  penalty: number
  gradNorm: number
  lr: number
  tokens: number
  tokensSeen: number
  wallS: number
  flops: number
  stepSeconds: number
}

export interface DomainValidation {
  domain: string
  loss: number
  ppl: number
  tokens: number
  /** validation documents the tokens came from, with each one's summed loss and token count (for bootstrap intervals) */
  docLoss?: number[]
  docTokens?: number[]
  /** seconds this evaluation took */
  seconds?: number
}

export interface ValidationReport {
  stage: StagePlan
  step: number
  domains: DomainValidation[]
  /** whether this validation closes its stage (the reference point of AP+) */
  endOfStage: boolean
}

/** A group of tensors in a plugin's saved state: the names of the tensors it stored in the checkpoint's plugins.safetensors. */
export interface TensorRef {
  tensors: string
  names: string[]
}

/** Where saveState puts its tensors: a checkpoint stores them in plugins.safetensors beside the model, not in state.json. */
export interface StateTensorWriter {
  /** Stores `weights` as the group `group` of this plugin; put the returned reference in the JSON state. */
  put(group: string, weights: Weights): TensorRef
}

/** Where loadState reads them back: a reference from the state, or (checkpoints written before plugins.safetensors) base64 inside it. */
export interface StateTensorReader {
  read(stored: StoredTensors): Weights
}

/** A tensor group as a saved state holds it: a reference (this format), or shapes and base64 float32 bytes (older checkpoints). */
export type StoredTensors = TensorRef | Record<string, { shape: number[]; base64: string }>

export interface TrainingPlugin {
  readonly name: string
  /**
   * What this plugin must remember across a checkpoint: plain JSON, tensors through `tensors.put`; restored with
   * `loadState`. A plugin with state declares `stateSchema`, the zod schema of that JSON: a checkpoint's entry is
   * parsed with it before `loadState` sees it, so a malformed one is refused naming the plugin and field.
   * Tensors are read with `data()` (async: WebGPU has no synchronous read), so it may return a promise.
   */
  saveState?(tensors: StateTensorWriter): unknown | Promise<unknown>
  readonly stateSchema?: z.ZodType
  /** `state` has passed `stateSchema` (the plugin may declare its parameter as the schema's output type). */
  loadState?(state: unknown, tensors: StateTensorReader): void
  /** Entering a stage; `resumed` when continuing it from a checkpoint. */
  beforeStage?(ctx: TrainingContext, stage: StagePlan, resumed: boolean): void | Promise<void>
  /** The phase's optimizer exists (fresh, or with the checkpoint's moments when resumed): restore optimizer state
   *  the trainer does not checkpoint itself (PNN: the laterals' Adam moments). Called once per phase, before its first update. */
  optimizerReady?(ctx: TrainingContext, stage: StagePlan, resumed: boolean): void | Promise<void>
  /** Change the micro-batches of one update (replay mixes memory in here). */
  composeUpdate?(ctx: TrainingContext, stage: StagePlan, micro: MicroBatch[]): MicroBatch[]
  /** The learning-rate schedule of a phase, from the run's (re-warming sets its own peak and floor). */
  adjustSchedule?(ctx: TrainingContext, stage: StagePlan, schedule: LrSchedule): LrSchedule
  /** A term added to this update's objective inside the gradient tape (EWC, MAS); null: none now. */
  lossPenalty?(ctx: TrainingContext): (() => tf.Scalar) | null
  /** This update's per-micro-batch objective in place of the LM loss (distillation); null: the LM loss. One plugin at most. */
  objective?(ctx: TrainingContext): MicroObjective | null
  /** Change the update's summed gradients, keyed by role, before clipping and the step (A-GEM). */
  transformGradients?(ctx: TrainingContext, grads: Map<string, tf.Tensor>): void | Promise<void>
  /** Point the model at what answers for a domain before it is evaluated (PNN: that domain's column); null restores it. */
  routeDomain?(ctx: TrainingContext, domain: string | null): void
  afterStep?(ctx: TrainingContext, record: StepRecord): void | Promise<void>
  afterValidation?(ctx: TrainingContext, report: ValidationReport): void | Promise<void>
  /** The update and any validation at its step are done: the state is whole (checkpoints are taken here). */
  afterUpdate?(ctx: TrainingContext, record: StepRecord): void | Promise<void>
  afterStage?(ctx: TrainingContext, stage: StagePlan): void | Promise<void>
  /** The run is over (finished, cancelled or failed): flush what is buffered. */
  afterRun?(ctx: TrainingContext): void | Promise<void>
}

export interface TrainingContext {
  readonly config: RunConfig
  /** the current model (growth replaces it between phases) */
  readonly model: TransformerModel
  readonly tokenizer: Tokenizer
  readonly stages: readonly StagePlan[]
  readonly state: LoopState
  /** the optimizer of the current stage (fresh per stage, as in ELLE) */
  readonly trainer: Trainer | null
  /** domains whose training has begun, in stream order */
  readonly seenDomains: readonly string[]
  /** total optimizer updates of the run */
  readonly totalSteps: number
  /** analytic training FLOPs per token of the current model */
  readonly flopsPerToken: number
  /** Charge compute a method spends beyond the update's own forward and backward (A-GEM's reference
   *  gradient, a teacher's forward, an importance estimate), so methods compare on what they really cost.
   *  `seconds` only for work outside an update: an update's wall time is measured around all of it. */
  chargeCompute(flops: number, seconds?: number): void
  domain(name: string): DomainData
  /** batcher for a domain's training split, with the run's prompt setting */
  batcher(name: string): BlockBatcher
  /** the next training micro-batch of a domain (its position is checkpointed) */
  nextBatch(name: string): Batch
  /** the memory of a domain (built on first use) */
  memory(name: string): DomainMemory
  /** the next micro-batch from a domain's memory (its position is checkpointed) */
  nextMemoryBatch(name: string): Batch
  /** swap in a new model (growth); the old one is disposed, the optimizer restarts */
  replaceModel(model: TransformerModel): void
  /** Adam moments carried into the next phase instead of a fresh optimizer (set by growth with optimizer: grow) */
  carriedOptimizerState: AdamWState | null
  /** the last phase's optimizer state, kept when the run grows its optimizer instead of resetting it */
  readonly previousOptimizerState: AdamWState | null
  /** ask the loop to stop after the current update */
  requestStop(): void
}
