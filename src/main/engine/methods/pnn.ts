// PNN on the loop: each training stage gets a new column (pnn-model.ts). As a stage ends its column is
// frozen; the next stage's model holds every frozen column plus a fresh, randomly initialised column with
// laterals from all of them (the first column starts from the run's initial model). Validation of a
// domain reads the column trained on it. A checkpoint holds the newest column (the model's roles) and its
// Adam moments; the frozen columns, the newest laterals and their moments are this plugin's state, so a
// resumed run continues exactly, inside a stage too.
import type { AdamWState } from '../model'
import { hashSeed } from '../model/rng'
import type { MicroBatch, StagePlan, TrainingContext, TrainingPlugin } from '../training/loop'
import { PnnModel, type PnnColumn } from './pnn-model'
import { decodeWeights, encodeWeights, type EncodedWeights } from './tensors'

interface EncodedAdam {
  step: number
  m: EncodedWeights
  v: EncodedWeights
}

interface PnnState {
  /** frozen columns, in order */
  columns: Array<{ domain: string; weights: EncodedWeights; laterals: EncodedWeights }>
  /** the newest column's laterals and their optimizer (mid-stage checkpoints) */
  current: { laterals: EncodedWeights; optimizer: EncodedAdam | null } | null
}

export class PnnPlugin implements TrainingPlugin {
  readonly name = 'pnn'
  private frozen: Array<PnnColumn & { domain: string }> = []
  /** the column that was trained on each domain (the latest one when a domain comes back) */
  private readonly columnOf = new Map<string, number>()
  private ctx: TrainingContext | null = null
  private saved: PnnState['current'] = null
  /** lateral moments to restore once the stage's trainer exists */
  private pendingOptimizer: AdamWState | null = null

  constructor(private readonly seed: number) {}

  beforeStage(ctx: TrainingContext, stage: StagePlan, resumed: boolean): void {
    this.ctx = ctx
    if (stage.kind !== 'train') return
    const k = stage.stage
    this.frozen.forEach((c, j) => this.columnOf.set(c.domain, j))
    this.columnOf.set(stage.domain, k)
    if (ctx.model instanceof PnnModel && ctx.model.columns === k + 1) return // resumed in this process
    if (this.frozen.length !== k) throw new Error(`pnn: stage ${k} needs ${k} frozen columns, the run state has ${this.frozen.length}`)
    const model = new PnnModel(ctx.model.config, this.frozen, { seed: hashSeed(this.seed, `column${k}`) })
    // Column 0 starts from the run's initial model; a resumed stage from its checkpointed column.
    if (k === 0 || resumed) model.setWeights(ctx.model.getWeights())
    if (resumed && k > 0) {
      if (!this.saved) throw new Error(`pnn: the checkpoint inside stage ${k} has no lateral state`)
      model.setLateralWeights(decodeWeights(this.saved.laterals))
      const o = this.saved.optimizer
      this.pendingOptimizer = o ? { step: o.step, m: decodeWeights(o.m), v: decodeWeights(o.v) } : null
    }
    this.saved = null
    ctx.replaceModel(model)
  }

  /** Restores the laterals' Adam moments on a resumed stage's first update: the first point its trainer exists. */
  composeUpdate(ctx: TrainingContext, _stage: StagePlan, micro: MicroBatch[]): MicroBatch[] {
    if (this.pendingOptimizer) {
      ctx.trainer?.auxiliaryOptimizer?.setState(this.pendingOptimizer)
      this.pendingOptimizer = null
    }
    return micro
  }

  afterStage(ctx: TrainingContext, stage: StagePlan): void {
    if (stage.kind !== 'train' || !(ctx.model instanceof PnnModel)) return
    this.frozen.push({ domain: stage.domain, ...ctx.model.newestColumn() })
  }

  routeDomain(ctx: TrainingContext, domain: string | null): void {
    if (!(ctx.model instanceof PnnModel)) return
    const column = domain === null ? undefined : this.columnOf.get(domain)
    ctx.model.readColumn = column === undefined || column >= ctx.model.columns ? null : column
  }

  saveState(): PnnState {
    const model = this.ctx?.model
    const aux = this.ctx?.trainer?.auxiliaryOptimizer?.getState() ?? null
    return {
      columns: this.frozen.map((c) => ({ domain: c.domain, weights: encodeWeights(c.weights), laterals: encodeWeights(c.laterals) })),
      current:
        model instanceof PnnModel && model.columns > this.frozen.length
          ? { laterals: encodeWeights(model.lateralWeights()), optimizer: aux ? { step: aux.step, m: encodeWeights(aux.m), v: encodeWeights(aux.v) } : null }
          : null
    }
  }

  loadState(state: unknown): void {
    const s = state as PnnState
    this.frozen = s.columns.map((c) => ({ domain: c.domain, weights: decodeWeights(c.weights), laterals: decodeWeights(c.laterals) }))
    this.saved = s.current
  }
}
