// The training loop: one loop for every lifelong method. It walks the stages of a run, composes each
// optimizer update from micro-batches, steps the model, and calls plugins at fixed lifecycle points.
// Methods (replay, growth, prompts, EWC, ...) and services (validation, metrics, checkpoints, progress)
// are plugins; none of them copies this loop.
import * as tf from '@tensorflow/tfjs'
import { BlockBatcher, type Batch, type EpochIterator, type IteratorState, type PromptMode, type Tokenizer } from '../data'
import { Trainer, type AdamWState, type LrSchedule, type MicroObjective, type StepHooks, type TransformerModel } from '../model'
import { hashSeed } from '../model/rng'
import { methodOf, type GrowthIncrement, type ReplaySettings, type RunConfig } from './config'
import { DomainMemory } from './memory'
import type { DomainData, RunData } from './data'
import { evaluate, evaluationSet, lossInput, toLossBatch, type LossInput } from './evaluate'

/**
 * One phase of a run. Each configured stage becomes an optional function-recovering warm-up phase on the
 * previous domain's memory, then a training phase on its own domain; growth happens as the stage begins.
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
}

export interface ValidationReport {
  stage: StagePlan
  step: number
  domains: DomainValidation[]
  /** whether this validation closes its stage (the reference point of AP+) */
  endOfStage: boolean
}

export interface TrainingPlugin {
  readonly name: string
  /** What this plugin must remember across a checkpoint (plain JSON); restored with `loadState`. */
  saveState?(): unknown
  loadState?(state: unknown): void
  /** Entering a stage; `resumed` when continuing it from a checkpoint. */
  beforeStage?(ctx: TrainingContext, stage: StagePlan, resumed: boolean): void | Promise<void>
  /** Change the micro-batches of one update (replay mixes memory in here). */
  composeUpdate?(ctx: TrainingContext, stage: StagePlan, micro: MicroBatch[]): MicroBatch[]
  /** The learning-rate schedule of a phase, from the run's (re-warming sets its own peak and floor). */
  adjustSchedule?(ctx: TrainingContext, stage: StagePlan, schedule: LrSchedule): LrSchedule
  /** A term added to this update's objective inside the gradient tape (EWC, MAS); null: none now. */
  lossPenalty?(ctx: TrainingContext): (() => tf.Scalar) | null
  /** This update's per-micro-batch objective in place of the LM loss (distillation); null: the LM loss. One plugin at most. */
  objective?(ctx: TrainingContext): MicroObjective | null
  /** Change the update's summed gradients, keyed by role, before clipping and the step (A-GEM). */
  transformGradients?(ctx: TrainingContext, grads: Map<string, tf.Tensor>): void
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

export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number
  ) {
    super(`the training loss became ${Number.isNaN(loss) ? 'NaN' : 'infinite'} at step ${step}`)
    this.name = 'NonFiniteLossError'
  }
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

export interface LoopOptions {
  config: RunConfig
  model: TransformerModel
  data: RunData
  plugins: TrainingPlugin[]
  state?: LoopState
  /** optimizer moments to restore when resuming inside a stage */
  optimizerState?: AdamWState | null
}

export function planStages(config: RunConfig): StagePlan[] {
  const method = methodOf(config).name
  const stream = [...new Set(config.stages.map((s) => s.domain))]
  // From scratch: one phase over the whole stream, as long as the schedule, with one learning-rate schedule.
  if (method === 'scratch') {
    const steps = config.stages.reduce((n, s) => n + s.steps, 0)
    return [{ index: 0, stage: 0, kind: 'train', domain: stream[0]!, domains: stream, steps, grow: null, replay: { ...config.replay } }]
  }
  const phases: StagePlan[] = []
  config.stages.forEach((s, i) => {
    const replay = { ...config.replay, ...s.replay }
    const grow = s.grow && (s.grow.layers > 0 || s.grow.heads > 0 || (s.grow.ffn ?? 0) > 0) ? s.grow : null
    if (s.frwSteps > 0) {
      const previous = config.stages[i - 1]!.domain
      phases.push({ index: phases.length, stage: i, kind: 'frw', domain: previous, domains: [previous], steps: s.frwSteps, grow, replay })
    }
    // Joint: every stage trains on all the domains seen so far.
    const domains = method === 'joint' ? [...new Set([s.domain, ...config.stages.slice(0, i).map((e) => e.domain)])] : [s.domain]
    phases.push({ index: phases.length, stage: i, kind: 'train', domain: s.domain, domains, steps: s.steps, grow: s.frwSteps > 0 ? null : grow, replay })
  })
  return phases
}

export class TrainingLoop implements TrainingContext {
  readonly config: RunConfig
  model: TransformerModel
  readonly tokenizer: Tokenizer
  readonly stages: StagePlan[]
  readonly state: LoopState
  readonly totalSteps: number
  trainer: Trainer | null = null
  carriedOptimizerState: AdamWState | null = null
  previousOptimizerState: AdamWState | null = null
  private readonly memories = new Map<string, DomainMemory>()
  private readonly data: RunData
  private readonly plugins: TrainingPlugin[]
  private readonly batchers = new Map<string, BlockBatcher>()
  private readonly iterators = new Map<string, EpochIterator>()
  private readonly validationSets = new Map<string, LossInput[]>()
  private optimizerState: AdamWState | null
  private stopRequested = false

  constructor(options: LoopOptions) {
    this.config = options.config
    this.model = options.model
    this.data = options.data
    this.tokenizer = options.data.tokenizer
    this.plugins = options.plugins
    this.stages = planStages(options.config)
    this.state = options.state ? structuredClone(options.state) : initialLoopState()
    this.optimizerState = options.optimizerState ?? null
    this.totalSteps = this.stages.reduce((n, s) => n + s.steps, 0)
  }

  /** Domains whose training phase has begun (a warm-up phase does not add its stage's new domain). */
  get seenDomains(): string[] {
    const seen: string[] = []
    for (const stage of this.stages.slice(0, this.state.stageIndex + 1)) for (const d of stage.domains) if (!seen.includes(d)) seen.push(d)
    return seen
  }

  memory(name: string): DomainMemory {
    let m = this.memories.get(name)
    if (!m) {
      m = new DomainMemory(name, this.batcher(name), this.config.memory, hashSeed(this.config.training.seed, `memory/${name}`))
      this.memories.set(name, m)
    }
    return m
  }

  nextMemoryBatch(name: string): Batch {
    const key = `memory/${name}`
    const { batch, state } = this.memory(name).next(this.config.training.batchSize, this.state.iterators[key] ?? { epoch: 0, position: 0 })
    this.state.iterators[key] = state
    return batch
  }

  replaceModel(model: TransformerModel): void {
    if (model === this.model) return
    this.trainer?.dispose()
    this.trainer = null
    this.model.dispose()
    this.model = model
  }

  get flopsPerToken(): number {
    return this.model.trainingFlopsPerToken(this.config.training.seqLen)
  }

  chargeCompute(flops: number, seconds = 0): void {
    if (!(flops >= 0 && seconds >= 0)) throw new Error(`chargeCompute: flops and seconds must be non-negative numbers (got ${flops}, ${seconds})`)
    this.state.flops += flops
    this.state.wallS += seconds
  }

  domain(name: string): DomainData {
    const d = this.data.domains.get(name)
    if (!d) throw new Error(`domain "${name}" is not loaded for this run`)
    return d
  }

  batcher(name: string): BlockBatcher {
    let b = this.batchers.get(name)
    if (!b) {
      const d = this.domain(name)
      b = new BlockBatcher(d.train, this.tokenizer, {
        style: this.config.model.kind,
        seqLen: this.config.training.seqLen,
        promptSlot: d.promptSlot,
        prompt: this.promptFor(name),
        seed: hashSeed(this.config.training.seed, `data/${name}`)
      })
      this.batchers.set(name, b)
    }
    return b
  }

  /** The prompt a domain's samples carry; "wrong" gives each domain the next stream domain's token. */
  promptFor(name: string): PromptMode {
    const mode = this.config.training.prompts
    if (mode !== 'wrong') return mode
    const order = [...new Set(this.config.stages.map((s) => s.domain))]
    const own = this.domain(name).promptSlot
    const other = order.length > 1 ? this.domain(order[(order.indexOf(name) + 1) % order.length]!).promptSlot : (own + 1) % this.tokenizer.promptSlots
    return { slot: other }
  }

  /** The domain's endless shuffled iterator; its position is part of the checkpointed state. */
  nextBatch(name: string): Batch {
    let it = this.iterators.get(name)
    if (!it) {
      it = this.batcher(name).iterator(this.config.training.batchSize, this.state.iterators[name] ?? { epoch: 0, position: 0 })
      this.iterators.set(name, it)
    }
    const batch = it.next().value
    this.state.iterators[name] = it.position
    return batch
  }

  requestStop(): void {
    this.stopRequested = true
  }

  get stopping(): boolean {
    return this.stopRequested
  }

  /** Run from the current state to the end (or until stopped). Returns true when every stage finished. */
  async run(): Promise<boolean> {
    try {
      while (this.state.stageIndex < this.stages.length) {
        const stage = this.stages[this.state.stageIndex]!
        const resumed = this.state.stepInStage > 0
        // Plugins first: growth may replace the model, and the optimizer must be built on the final one.
        for (const p of this.plugins) await p.beforeStage?.(this, stage, resumed)
        this.startStage(stage)
        while (this.state.stepInStage < stage.steps) {
          if (this.stopRequested) return false
          const record = this.step(stage)
          for (const p of this.plugins) await p.afterStep?.(this, record)
          // Let messages in (a cancel request, a ping): one update is a synchronous block of tensor work.
          await new Promise<void>((resolve) => setImmediate(resolve))
          const last = this.state.stepInStage === stage.steps
          // the end of a training phase is the reference point of AP+; a warm-up's end is not
          if (last || this.state.stepInStage % this.config.training.validateEvery === 0) await this.validate(stage, last && stage.kind === 'train')
          for (const p of this.plugins) await p.afterUpdate?.(this, record)
        }
        this.state.stageIndex += 1
        this.state.stepInStage = 0
        for (const p of this.plugins) await p.afterStage?.(this, stage)
        this.previousOptimizerState = this.config.growth.optimizer === 'grow' ? (this.trainer?.optimizer.getState() ?? null) : null
        this.trainer?.dispose()
        this.trainer = null
      }
      return true
    } finally {
      for (const p of this.plugins) await p.afterRun?.(this)
    }
  }

  /** A fresh optimizer and learning-rate schedule per stage (restored when resuming inside it). */
  private startStage(stage: StagePlan): void {
    const t = this.config.training
    // A warm-up phase follows the reference (§5): the first steps of the next training phase's schedule,
    // so the grown model meets a rising, not a peak, learning rate. 'own' gives it a full schedule of its own.
    const next = this.stages[stage.index + 1]
    const horizon = stage.kind === 'frw' && this.config.growth.frwSchedule === 'next-stage' && next ? next.steps : stage.steps
    let schedule: LrSchedule = { peak: t.lr, warmupSteps: Math.round(t.warmupFraction * horizon), totalSteps: horizon }
    for (const p of this.plugins) if (p.adjustSchedule) schedule = p.adjustSchedule(this, stage, schedule)
    this.trainer?.dispose()
    this.trainer = new Trainer(this.model, {
      schedule,
      clipNorm: t.clipNorm,
      adam: { weightDecay: t.weightDecay },
      seed: hashSeed(t.seed, `stage${stage.index}`),
      padId: this.tokenizer.specialIds.pad
    })
    if (this.optimizerState && this.state.stepInStage > 0) this.trainer.optimizer.setState(this.optimizerState)
    else if (this.carriedOptimizerState) this.trainer.optimizer.setState(this.carriedOptimizerState)
    this.optimizerState = null
    this.carriedOptimizerState = null
    this.previousOptimizerState = null
  }

  private step(stage: StagePlan): StepRecord {
    const started = performance.now()
    let micro: MicroBatch[] = []
    for (let k = 0; k < this.config.training.accumulation; k++) {
      // the warm-up reads the previous domain's memory; training reads the stage's own domain
      micro.push({ domain: stage.domain, batch: stage.kind === 'frw' ? this.nextMemoryBatch(stage.domain) : this.nextBatch(stage.domain) })
    }
    for (const p of this.plugins) if (p.composeUpdate) micro = p.composeUpdate(this, stage, micro)

    const inputs = micro.map((m, k) =>
      lossInput(this.config.model.kind, m.batch, this.tokenizer, this.model.config.vocabSize, hashSeed(this.config.training.seed, `mask/${this.state.globalStep}/${k}`))
    )
    const lossBatches = inputs.map(toLossBatch)
    let result
    try {
      result = this.trainer!.trainStep(lossBatches, this.stepHooks())
    } finally {
      for (const b of lossBatches) tf.dispose([b.inputIds, b.labels!])
    }
    const tokens = micro.reduce((n, m) => n + m.batch.batchSize * m.batch.seqLen, 0)
    this.state.globalStep += 1
    this.state.stepInStage += 1
    if (!Number.isFinite(result.loss)) throw new NonFiniteLossError(this.state.globalStep, result.loss)
    const seconds = (performance.now() - started) / 1000
    this.state.tokensSeen += tokens
    this.state.wallS += seconds
    this.state.flops += tokens * this.flopsPerToken
    return {
      stage,
      step: this.state.globalStep,
      stepInStage: this.state.stepInStage,
      loss: result.loss,
      penalty: result.penalty,
      gradNorm: result.gradNorm,
      lr: result.lr,
      tokens,
      tokensSeen: this.state.tokensSeen,
      wallS: this.state.wallS,
      flops: this.state.flops,
      stepSeconds: seconds
    }
  }

  /** What the methods contribute to this update's gradient: penalties add up, transforms run in plugin order. */
  private stepHooks(): StepHooks {
    const penalties: Array<() => tf.Scalar> = []
    const transforms: Array<(grads: Map<string, tf.Tensor>) => void> = []
    let objective: MicroObjective | undefined
    for (const p of this.plugins) {
      const penalty = p.lossPenalty?.(this)
      if (penalty) penalties.push(penalty)
      const own = p.objective?.(this)
      if (own && objective) throw new Error(`plugin ${p.name}: another plugin already sets this update's objective`)
      if (own) objective = own
      if (p.transformGradients) transforms.push((grads) => p.transformGradients!(this, grads))
    }
    return {
      penalty: penalties.length === 0 ? undefined : () => tf.addN(penalties.map((f) => f())) as tf.Scalar,
      objective,
      transformGradients: transforms.length === 0 ? undefined : (grads) => transforms.forEach((f) => f(grads))
    }
  }

  /** Perplexity on every seen domain's fixed validation sequences, each with its own prompt. */
  async validate(stage: StagePlan, endOfStage: boolean): Promise<ValidationReport> {
    const domains: DomainValidation[] = []
    for (const name of this.seenDomains) domains.push(this.evaluateDomain(name))
    const report: ValidationReport = { stage, step: this.state.globalStep, domains, endOfStage }
    for (const p of this.plugins) await p.afterValidation?.(this, report)
    return report
  }

  evaluateDomain(name: string): DomainValidation {
    for (const p of this.plugins) p.routeDomain?.(this, name)
    try {
      const result = evaluate(this.model, this.validationInputs(name), this.tokenizer.specialIds.pad)
      return { domain: name, loss: result.loss, ppl: result.ppl, tokens: result.tokens }
    } finally {
      for (const p of this.plugins) p.routeDomain?.(this, null)
    }
  }

  /** The fixed validation sequences of a domain (with its prompt, and seeded masks for BERT). */
  validationInputs(name: string): LossInput[] {
    let set = this.validationSets.get(name)
    if (!set) {
      const d = this.domain(name)
      const t = this.config.training
      set = evaluationSet(this.model, this.tokenizer, d.validation, {
        seqLen: t.seqLen,
        batchSize: t.batchSize,
        maxSequences: t.validationSequences,
        promptSlot: d.promptSlot,
        prompt: this.promptFor(name),
        seed: t.seed
      })
      this.validationSets.set(name, set)
    }
    return set
  }

  dispose(): void {
    this.trainer?.dispose()
    this.trainer = null
  }
}
