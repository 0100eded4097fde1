// Logit distillation from the previous stage (the reference's KD path, criterions/continual_KI.py): the
// teacher is a frozen copy of the model as the previous stage ended; on every micro-batch of an update
// (current and replayed data alike) the objective is (1 − α)·LM + α·τ²·KL(softmax(z_T/τ) ‖ softmax(z_S/τ)),
// averaged over the positions the LM loss uses (GPT: every predicted position; BERT: the masked ones).
// α may decay linearly over a stage, α_t = α·max(0, 1 − t/decaySteps), as the reference's schedule does.
import * as tf from '@tensorflow/tfjs'
import { z } from 'zod'
import { ops, TransformerModel, validateModelConfig, type ForwardOptions, type LossBatch, type MicroObjective, type ModelConfig, type ObjectiveTerms, type Weights } from '../model'
import type { MethodOf } from '../training/config'
import type { StagePlan, StateTensorReader, StateTensorWriter, TrainingContext, TrainingPlugin } from '../training/plugin-api'
import { StoredTensorsSchema } from '../training/plugin-state'
import { distillTerms } from './distill-terms'

export { distillationLoss, distillTerms } from './distill-terms'

const positive = () => z.number().int().positive()
const TeacherConfig = z
  .object({
    kind: z.enum(['bert', 'gpt']),
    layers: positive(),
    heads: positive(),
    headSize: positive(),
    hidden: positive(),
    ffn: positive(),
    vocabSize: positive(),
    maxLength: positive(),
    dropout: z.number().min(0).max(1),
    norm: z.enum(['pre', 'post'])
  })
  .strict()
/** the teacher (a frozen copy of the model as the previous stage ended); null before the first stage ends */
const DistillState = z.object({ config: TeacherConfig, weights: StoredTensorsSchema }).strict().nullable()

interface Teacher {
  config: ModelConfig
  weights: Weights
}

export class DistillPlugin implements TrainingPlugin {
  readonly name = 'logit-kd'
  private teacherModel: TransformerModel | null = null
  /** a teacher saved in a checkpoint, built on first use; also what saveState returns once the run freed it */
  private pending: Teacher | null = null

  constructor(private readonly settings: MethodOf<'logit-kd'>) {}

  get teacher(): TransformerModel | null {
    if (!this.teacherModel && this.pending) {
      this.teacherModel = new TransformerModel(this.pending.config)
      this.teacherModel.setWeights(this.pending.weights)
      this.pending = null
    }
    return this.teacherModel
  }

  /** α of the current update. */
  alphaAt(ctx: TrainingContext): number {
    const { alpha, decaySteps } = this.settings
    return decaySteps > 0 ? alpha * Math.max(0, 1 - ctx.state.stepInStage / decaySteps) : alpha
  }

  afterStage(ctx: TrainingContext, stage: StagePlan): void {
    if (stage.kind !== 'train' || ctx.state.stageIndex >= ctx.stages.length) return
    this.disposeTeacher()
    const copy = new TransformerModel(ctx.model.config)
    copy.copyWeightsFrom(ctx.model)
    this.teacherModel = copy
  }

  objective(ctx: TrainingContext): MicroObjective | null {
    const teacher = this.teacher
    const alpha = this.alphaAt(ctx)
    if (!teacher || alpha === 0) return null
    const student = ctx.model
    const temperature = this.settings.temperature
    const objective = (batch: LossBatch, opts: ForwardOptions) => distillTerms(student, teacher, batch, opts, alpha, temperature)
    return Object.assign(objective, {
      // data-parallel replicas hold the teacher too (synced once per stage) and compute these terms on their shards
      replica: { kind: 'distill' as const, alpha, temperature, teacher },
      // the teacher's forward (a third of its training FLOPs) is this method's extra cost
      charge: ([rowsN, seqLen]: [number, number]) => ctx.chargeCompute((rowsN * seqLen * teacher.trainingFlopsPerToken(seqLen)) / 3)
    })
  }

  readonly stateSchema = DistillState

  async saveState(tensors: StateTensorWriter): Promise<z.infer<typeof DistillState>> {
    const teacher = await this.teacherData()
    return teacher ? { config: teacher.config, weights: tensors.put('teacher', teacher.weights) } : null
  }

  loadState(state: z.infer<typeof DistillState>, tensors: StateTensorReader): void {
    this.disposeTeacher()
    this.pending = state === null ? null : { config: validateModelConfig({ ...state.config }), weights: tensors.read(state.weights) }
  }

  async afterRun(): Promise<void> {
    // a cancelled run's checkpoint is written after this: keep the teacher as data, free its tensors
    this.pending = await this.teacherData()
    this.disposeTeacher()
  }

  private async teacherData(): Promise<Teacher | null> {
    const teacher = this.teacherModel
    return teacher ? { config: teacher.config, weights: await teacher.readWeights() } : this.pending
  }

  private disposeTeacher(): void {
    this.teacherModel?.dispose()
    this.teacherModel = null
  }
}
