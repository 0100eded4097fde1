// The training loop: one loop for every lifelong method. It walks the phases of a run (planned by the
// run's method), composes each optimizer update from micro-batches, steps the model, and calls plugins at
// fixed lifecycle points. Methods (replay, growth, prompts, EWC, ...) and services (validation, metrics,
// checkpoints, progress) are plugins (plugin-api.ts); none of them copies this loop. What the run reads
// (batchers, memories, prompts, validation sets) is run-data.ts.
import * as tf from '@tensorflow/tfjs'
import type { Batch, BlockBatcher, Tokenizer } from '../data'
import { ops, Trainer, type AdamWState, type LrSchedule, type MicroObjective, type ShardedGradients, type StepHooks, type TransformerModel } from '../model'
import { hashSeed } from '../model/rng'
import { planPhases } from '../methods/registry'
import type { RunConfig } from './config'
import type { DomainData, RunData } from './data'
import { evaluate, lossInput, toLossBatch, type LossInput, type ShardedEvaluation } from './evaluate'
import type { DomainMemory } from './memory'
import {
  initialLoopState,
  type DomainValidation,
  type LoopState,
  type MicroBatch,
  type StagePlan,
  type StepRecord,
  type TrainingContext,
  type TrainingPlugin,
  type ValidationReport
} from './plugin-api'
import { RunDataAccess } from './run-data'

// The plugin API, for plugins that import it from the loop
export * from './plugin-api'

export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number
  ) {
    super(`the training loss became ${Number.isNaN(loss) ? 'NaN' : 'infinite'} at step ${step}`)
    this.name = 'NonFiniteLossError'
  }
}

export interface LoopOptions {
  config: RunConfig
  model: TransformerModel
  data: RunData
  plugins: TrainingPlugin[]
  state?: LoopState
  /** optimizer moments to restore when resuming inside a stage */
  optimizerState?: AdamWState | null
  /** replica threads that share each micro-batch (data-parallel training, parallel.ts); absent: this thread alone */
  shards?: ShardedGradients | null
  /** replica threads that share validation (the same pool as `shards`); absent: this thread alone */
  evaluation?: ShardedEvaluation | null
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
  private readonly data: RunDataAccess
  private readonly plugins: TrainingPlugin[]
  private optimizerState: AdamWState | null
  private readonly shards: ShardedGradients | null
  private readonly evaluation: ShardedEvaluation | null
  private stopRequested = false

  constructor(options: LoopOptions) {
    this.config = options.config
    this.model = options.model
    this.tokenizer = options.data.tokenizer
    this.plugins = options.plugins
    this.stages = planPhases(options.config)
    this.state = options.state ? structuredClone(options.state) : initialLoopState()
    this.data = new RunDataAccess(options.config, options.data, this.state.iterators)
    this.optimizerState = options.optimizerState ?? null
    this.shards = options.shards ?? null
    this.evaluation = options.evaluation ?? null
    // Resumed at a stage boundary with a growing optimizer: the finished stage's moments are what the next stage grows from.
    if (this.state.stepInStage === 0 && this.config.growth.optimizer === 'grow' && this.optimizerState) {
      this.previousOptimizerState = this.optimizerState
      this.optimizerState = null
    }
    this.totalSteps = this.stages.reduce((n, s) => n + s.steps, 0)
  }

  /** Domains whose training phase has begun (a warm-up phase does not add its stage's new domain). */
  get seenDomains(): string[] {
    const seen: string[] = []
    for (const stage of this.stages.slice(0, this.state.stageIndex + 1)) for (const d of stage.domains) if (!seen.includes(d)) seen.push(d)
    return seen
  }

  domain(name: string): DomainData {
    return this.data.domain(name)
  }

  batcher(name: string): BlockBatcher {
    return this.data.batcher(name)
  }

  nextBatch(name: string): Batch {
    return this.data.nextBatch(name)
  }

  memory(name: string): DomainMemory {
    return this.data.memory(name)
  }

  nextMemoryBatch(name: string): Batch {
    return this.data.nextMemoryBatch(name)
  }

  /** The fixed validation sequences of a domain (with its prompt, and seeded masks for BERT). */
  validationInputs(name: string): LossInput[] {
    return this.data.validationInputs(name, this.model)
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
        await this.startStage(stage)
        while (this.state.stepInStage < stage.steps) {
          if (this.stopRequested) return false
          const record = await this.step(stage)
          for (const p of this.plugins) await p.afterStep?.(this, record)
          // Let messages in (a cancel request, a ping): on wasm one update is a synchronous block of tensor work.
          await new Promise<void>((resolve) => setImmediate(resolve))
          const last = this.state.stepInStage === stage.steps
          // the end of a training phase is the reference point of AP+; a warm-up's end is not
          if (last || this.state.stepInStage % this.config.training.validateEvery === 0) await this.validate(stage, last && stage.kind === 'train')
          for (const p of this.plugins) await p.afterUpdate?.(this, record)
        }
        this.state.stageIndex += 1
        this.state.stepInStage = 0
        for (const p of this.plugins) await p.afterStage?.(this, stage)
        this.previousOptimizerState = this.config.growth.optimizer === 'grow' && this.trainer ? await this.trainer.optimizer.readState() : null
        this.trainer?.dispose()
        this.trainer = null
      }
      return true
    } finally {
      for (const p of this.plugins) await p.afterRun?.(this)
    }
  }

  /** A fresh optimizer and learning-rate schedule per stage (restored when resuming inside it). */
  private async startStage(stage: StagePlan): Promise<void> {
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
      padId: this.tokenizer.specialIds.pad,
      shards: this.shards
    })
    const resumed = this.state.stepInStage > 0
    const optimizer = this.trainer.optimizer
    if (this.optimizerState && resumed) {
      optimizer.setState(this.optimizerState)
      // checkpoints written before the schedule had its own counter: the schedule step is the step in the stage
      optimizer.scheduleStep = this.optimizerState.scheduleStep ?? this.state.stepInStage
    } else if (this.carriedOptimizerState) {
      // moments (and Adam's bias-correction count) carry over; the new phase's schedule starts at its beginning
      optimizer.setState(this.carriedOptimizerState)
      optimizer.scheduleStep = 0
    }
    this.optimizerState = null
    this.carriedOptimizerState = null
    this.previousOptimizerState = null
    for (const p of this.plugins) await p.optimizerReady?.(this, stage, resumed)
  }

  private async step(stage: StagePlan): Promise<StepRecord> {
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
      result = await this.trainer!.trainStep(lossBatches, this.stepHooks())
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
    const transforms: Array<(grads: Map<string, tf.Tensor>) => void | Promise<void>> = []
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
      penalty: penalties.length === 0 ? undefined : () => ops.addMany(penalties.map((f) => f())) as tf.Scalar,
      objective,
      transformGradients:
        transforms.length === 0
          ? undefined
          : async (grads) => {
              for (const f of transforms) await f(grads)
            }
    }
  }

  /** Perplexity on every seen domain's fixed validation sequences, each with its own prompt. */
  async validate(stage: StagePlan, endOfStage: boolean): Promise<ValidationReport> {
    const domains: DomainValidation[] = []
    for (const name of this.seenDomains) domains.push(await this.evaluateDomain(name))
    const report: ValidationReport = { stage, step: this.state.globalStep, domains, endOfStage }
    for (const p of this.plugins) await p.afterValidation?.(this, report)
    return report
  }

  async evaluateDomain(name: string): Promise<DomainValidation> {
    for (const p of this.plugins) p.routeDomain?.(this, name)
    try {
      const started = performance.now()
      const result = await evaluate(this.model, this.validationInputs(name), this.tokenizer.specialIds.pad, this.evaluation)
      const seconds = (performance.now() - started) / 1000
      return { domain: name, loss: result.loss, ppl: result.ppl, tokens: result.tokens, docLoss: result.docLoss, docTokens: result.docTokens, seconds }
    } finally {
      for (const p of this.plugins) p.routeDomain?.(this, null)
    }
  }

  dispose(): void {
    this.trainer?.dispose()
    this.trainer = null
  }
}
