// Mirrors the loop's stages into the store, so the UI and `elle runs` show which stage a run is in.
import type { ExperimentStore } from '../../store/store'
import { busyPolicy, whenStoreFree, type BusyPolicy } from '../../store/busy'
import type { StagePlan, TrainingContext, TrainingPlugin } from '../loop'

export class StagesPlugin implements TrainingPlugin {
  readonly name = 'stages'
  private readonly ids = new Map<number, number>()

  constructor(
    private readonly store: ExperimentStore,
    private readonly runId: number,
    /** the process that owns the run: stage rows change only while it does */
    private readonly owner?: string,
    private readonly busy: BusyPolicy = busyPolicy()
  ) {
    for (const stage of store.listStages(runId)) this.ids.set(stage.index, stage.id)
  }

  /** Stage rows for the whole plan, created once (a resumed run finds them). */
  async ensure(stages: readonly StagePlan[]): Promise<void> {
    for (const s of stages) {
      if (this.ids.has(s.index)) continue
      const row = await this.write(() =>
        this.store.addStage(this.runId, { index: s.index, kind: s.kind, domain: s.domain, params: { stage: s.stage, steps: s.steps, grow: s.grow, replay: s.replay } }, this.owner)
      )
      this.ids.set(s.index, row.id)
    }
  }

  stageId(index: number): number | null {
    return this.ids.get(index) ?? null
  }

  async beforeStage(_ctx: TrainingContext, stage: StagePlan): Promise<void> {
    await this.write(() => this.store.setStageStatus(this.ids.get(stage.index)!, 'running', this.owner))
  }

  async afterStage(_ctx: TrainingContext, stage: StagePlan): Promise<void> {
    await this.write(() => this.store.setStageStatus(this.ids.get(stage.index)!, 'finished', this.owner))
  }

  private write<T>(fn: () => T): Promise<T> {
    return whenStoreFree(this.store.path, this.busy, fn)
  }
}
