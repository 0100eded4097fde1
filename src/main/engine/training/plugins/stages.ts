// Mirrors the loop's stages into the store, so the UI and `elle runs` show which stage a run is in.
import type { ExperimentStore } from '../../store/store'
import type { StagePlan, TrainingContext, TrainingPlugin } from '../loop'

export class StagesPlugin implements TrainingPlugin {
  readonly name = 'stages'
  private readonly ids = new Map<number, number>()

  constructor(
    private readonly store: ExperimentStore,
    private readonly runId: number
  ) {
    for (const stage of store.listStages(runId)) this.ids.set(stage.index, stage.id)
  }

  /** Stage rows for the whole plan, created once (a resumed run finds them). */
  ensure(stages: readonly StagePlan[]): void {
    for (const s of stages) {
      if (this.ids.has(s.index)) continue
      const row = this.store.addStage(this.runId, { index: s.index, kind: s.kind, domain: s.domain, params: { stage: s.stage, steps: s.steps, grow: s.grow, replay: s.replay } })
      this.ids.set(s.index, row.id)
    }
  }

  stageId(index: number): number | null {
    return this.ids.get(index) ?? null
  }

  beforeStage(_ctx: TrainingContext, stage: StagePlan): void {
    this.store.setStageStatus(this.ids.get(stage.index)!, 'running')
  }

  afterStage(_ctx: TrainingContext, stage: StagePlan): void {
    this.store.setStageStatus(this.ids.get(stage.index)!, 'finished')
  }
}
