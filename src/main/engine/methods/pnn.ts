// PNN on the loop: each training stage gets a new column (pnn-model.ts). As a stage ends its column is
// frozen; the next stage's model holds every frozen column plus a fresh, randomly initialised column with
// laterals from all of them (the first column starts from the run's initial model). Validation of a
// domain reads the column trained on it. A checkpoint holds the newest column (the model's roles) and its
// Adam moments; the frozen columns, the newest laterals and their moments are this plugin's state, so a
// resumed run continues exactly, inside a stage too.
import { z } from 'zod'
import type { AdamWState } from '../model'
import { hashSeed } from '../model/rng'
import type { StagePlan, StateTensorReader, StateTensorWriter, TrainingContext, TrainingPlugin } from '../training/plugin-api'
import { StoredTensorsSchema } from '../training/plugin-state'
import { PnnModel, type PnnColumn } from './pnn-model'

const PnnState = z
  .object({
    /** frozen columns, in order */
    columns: z.array(z.object({ domain: z.string().min(1), weights: StoredTensorsSchema, laterals: StoredTensorsSchema }).strict()),
    /** the newest column's laterals and their optimizer (mid-stage checkpoints) */
    current: z
      .object({
        laterals: StoredTensorsSchema,
        optimizer: z
          .object({ step: z.number().int().min(0), m: StoredTensorsSchema, v: StoredTensorsSchema })
          .strict()
          .nullable()
      })
      .strict()
      .nullable()
  })
  .strict()
type PnnState = z.infer<typeof PnnState>

export class PnnPlugin implements TrainingPlugin {
  readonly name = 'pnn'
  private frozen: Array<PnnColumn & { domain: string }> = []
  /** the column that was trained on each domain (the latest one when a domain comes back) */
  private readonly columnOf = new Map<string, number>()
  private ctx: TrainingContext | null = null
  /** the checkpointed newest column's laterals and their moments, for the stage being resumed */
  private saved: { laterals: PnnColumn['laterals']; optimizer: AdamWState | null } | null = null
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
    if (k === 0 || resumed) model.copyWeightsFrom(ctx.model)
    if (resumed && k > 0) {
      if (!this.saved) throw new Error(`pnn: the checkpoint inside stage ${k} has no lateral state`)
      model.setLateralWeights(this.saved.laterals)
      this.pendingOptimizer = this.saved.optimizer
    }
    this.saved = null
    ctx.replaceModel(model)
  }

  /** Restores the laterals' Adam moments in a resumed stage: the trainer (and its auxiliary optimizer) exists only now. */
  optimizerReady(ctx: TrainingContext): void {
    if (this.pendingOptimizer) ctx.trainer?.auxiliaryOptimizer?.setState(this.pendingOptimizer)
    this.pendingOptimizer = null
  }

  async afterStage(ctx: TrainingContext, stage: StagePlan): Promise<void> {
    if (stage.kind !== 'train' || !(ctx.model instanceof PnnModel)) return
    this.frozen.push({ domain: stage.domain, ...(await ctx.model.newestColumn()) })
  }

  routeDomain(ctx: TrainingContext, domain: string | null): void {
    if (!(ctx.model instanceof PnnModel)) return
    const column = domain === null ? undefined : this.columnOf.get(domain)
    ctx.model.readColumn = column === undefined || column >= ctx.model.columns ? null : column
  }

  readonly stateSchema = PnnState

  async saveState(tensors: StateTensorWriter): Promise<PnnState> {
    const model = this.ctx?.model
    const auxOptimizer = this.ctx?.trainer?.auxiliaryOptimizer
    const aux = auxOptimizer ? await auxOptimizer.readState() : null
    const laterals = model instanceof PnnModel && model.columns > this.frozen.length ? await model.lateralWeights() : null
    return {
      columns: this.frozen.map((c, k) => ({ domain: c.domain, weights: tensors.put(`column${k}.weights`, c.weights), laterals: tensors.put(`column${k}.laterals`, c.laterals) })),
      current: laterals
        ? {
            laterals: tensors.put('current.laterals', laterals),
            optimizer: aux ? { step: aux.step, m: tensors.put('current.optimizer.m', aux.m), v: tensors.put('current.optimizer.v', aux.v) } : null
          }
        : null
    }
  }

  loadState(state: PnnState, tensors: StateTensorReader): void {
    this.frozen = state.columns.map((c) => ({ domain: c.domain, weights: tensors.read(c.weights), laterals: tensors.read(c.laterals) }))
    const o = state.current?.optimizer
    this.saved = state.current ? { laterals: tensors.read(state.current.laterals), optimizer: o ? { step: o.step, m: tensors.read(o.m), v: tensors.read(o.v) } : null } : null
  }
}
