// Checkpoints every M updates inside a stage and at the end of every stage. Only the newest periodic
// checkpoint is kept; end-of-stage checkpoints stay (they are what later evaluations and growth start from).
import fs from 'node:fs'
import type { StagePlan, StepRecord, TrainingContext, TrainingPlugin } from '../loop'

export interface SavedCheckpoint {
  id: number
  path: string
  step: number
}

export type SaveCheckpoint = (ctx: TrainingContext, reason: 'periodic' | 'stage-end' | 'stopped') => Promise<SavedCheckpoint>
export type ForgetCheckpoint = (checkpoint: SavedCheckpoint) => void | Promise<void>

export class CheckpointPlugin implements TrainingPlugin {
  readonly name = 'checkpoints'
  private lastPeriodic: SavedCheckpoint | null = null
  latest: SavedCheckpoint | null

  constructor(
    private readonly save: SaveCheckpoint,
    private readonly forget: ForgetCheckpoint,
    private readonly every: number,
    latest: SavedCheckpoint | null = null,
    /** the run resumed from `latest` and it was a periodic (or stopped) one: replace it like any other */
    resumedFromPeriodic = false
  ) {
    this.latest = latest
    if (resumedFromPeriodic) this.lastPeriodic = latest
  }

  async afterUpdate(ctx: TrainingContext, record: StepRecord): Promise<void> {
    // The stage's last update is covered by the end-of-stage checkpoint.
    if (record.stepInStage % this.every !== 0 || record.stepInStage === record.stage.steps) return
    const saved = await this.save(ctx, 'periodic')
    if (this.lastPeriodic) await this.drop(this.lastPeriodic)
    this.lastPeriodic = saved
    this.latest = saved
  }

  async afterStage(ctx: TrainingContext, _stage: StagePlan): Promise<void> {
    this.latest = await this.save(ctx, 'stage-end')
    if (this.lastPeriodic) await this.drop(this.lastPeriodic)
    this.lastPeriodic = null
  }

  /** Called by the runner when a run is cancelled, so it resumes from exactly where it stopped. */
  async saveNow(ctx: TrainingContext): Promise<SavedCheckpoint> {
    const saved = await this.save(ctx, 'stopped')
    if (this.lastPeriodic && this.lastPeriodic.path !== saved.path) await this.drop(this.lastPeriodic)
    this.lastPeriodic = saved
    this.latest = saved
    return saved
  }

  private async drop(checkpoint: SavedCheckpoint): Promise<void> {
    await this.forget(checkpoint)
    fs.rmSync(checkpoint.path, { recursive: true, force: true })
  }
}
