// What the GPU page does with each request (src/shared/gpu-page.ts): build the model and its trainer, run one
// update, read the weights, dispose; or, as a gradient replica of data-parallel training (model, weights, teacher,
// gradients), hold a copy of the coordinator's model and compute the gradients of its shards. It runs on whatever tfjs backend is active (the page: webgpu; a Node test:
// wasm, as the reference), imports no Node module, and answers every request, a failure as {ok: false, error}.
import * as tf from '@tensorflow/tfjs'
import {
  GpuRequest,
  type GpuAdapter,
  type GpuGradients,
  type GpuInitResult,
  type GpuResponse,
  type GpuStepResult,
  type GpuTensor,
  type GpuWeights
} from '../../../../shared/gpu-page'
import type { Weights } from '../../model/model'
import { type LossBatch, TransformerModel } from '../../model/model'
import { Trainer, trainedVariables } from '../../model/train'
import { buildReplicaModel } from '../../training/replica-model'
import { shardGradients } from '../../training/shard-gradients'

const weightsOf = (tensors: GpuTensor[]): Weights => Object.fromEntries(tensors.map((t) => [t.role, { shape: t.shape, data: t.data }]))

/** The coordinator's model held as a gradient replica: its trained variables, the weights version loaded, the teacher. */
interface Replica {
  model: TransformerModel
  trained: Map<string, tf.Variable>
  version: number
  teacher: TransformerModel | null
}

export class GpuSession {
  private model: TransformerModel | null = null
  private trainer: Trainer | null = null
  private replica: Replica | null = null

  /** `adapter`: starts the session's backend if need be and describes its device; called at each init, before the model is built. */
  constructor(private readonly adapter: () => Promise<GpuAdapter>) {}

  /** One request, validated, to its response; never throws. */
  async handle(raw: unknown): Promise<GpuResponse> {
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : -1
    const parsed = GpuRequest.safeParse(raw)
    if (!parsed.success) return { id, ok: false, error: `bad request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` }
    try {
      return { id, ok: true, result: await this.run(parsed.data) }
    } catch (error) {
      return { id, ok: false, error: error instanceof Error ? error.message : String(error) }
    }
  }

  private async run(req: GpuRequest): Promise<GpuInitResult | GpuAdapter | GpuStepResult | GpuWeights | GpuGradients | { version: number } | Record<string, never>> {
    switch (req.op) {
      case 'init': {
        this.dispose()
        // first: the page starts its backend here, before the model's variables exist
        const adapter = await this.adapter()
        const model = new TransformerModel(req.model, { seed: req.seed })
        // the host owns the schedule: every step carries its rate, so this schedule is never read
        this.trainer = new Trainer(model, { schedule: { peak: 0, warmupSteps: 0, totalSteps: 0 }, ...req.trainer })
        this.model = model
        return { backend: tf.getBackend(), adapter }
      }
      case 'step': {
        const trainer = this.need(this.trainer)
        const batches: LossBatch[] = req.micro.map((m) => ({
          inputIds: tf.tensor2d(m.inputIds, m.shape, 'int32'),
          labels: m.labels ? tf.tensor2d(m.labels, m.shape, 'int32') : undefined,
          host: { inputIds: m.inputIds, labels: m.labels }
        }))
        try {
          const r = await trainer.trainStep(batches, { lr: req.lr, seed: req.seed })
          return { loss: r.loss, gradNorm: r.gradNorm, penalty: r.penalty, lr: r.lr, step: r.step }
        } finally {
          tf.dispose(batches.flatMap((b) => (b.labels ? [b.inputIds, b.labels] : [b.inputIds])))
        }
      }
      case 'adapter':
        return await this.adapter()
      case 'readWeights': {
        const weights = await this.need(this.model).readWeights()
        return { weights: Object.entries(weights).map(([role, w]) => ({ role, shape: w.shape, data: w.data })) }
      }
      case 'dispose':
        this.dispose()
        return {}
      case 'model': {
        this.dispose()
        const adapter = await this.adapter()
        const { kind, config, constants } = req.blueprint
        const model = buildReplicaModel(kind, config, weightsOf(constants))
        this.replica = { model, trained: trainedVariables(model), version: 0, teacher: null }
        return { backend: tf.getBackend(), adapter }
      }
      case 'weights': {
        const replica = this.needReplica()
        const { trained } = replica
        const sent = new Set(req.weights.map((w) => w.role))
        const missing = [...trained.keys()].filter((role) => !sent.has(role))
        const unknown = [...sent].filter((role) => !trained.has(role))
        if (missing.length || unknown.length) throw new Error(`weights: missing [${missing.join(', ')}], unknown [${unknown.join(', ')}]`)
        for (const w of req.weights) {
          const v = trained.get(w.role)!
          if (w.shape.join() !== v.shape.join()) throw new Error(`weights: ${w.role} has shape [${w.shape}], expected [${v.shape}]`)
        }
        replica.version = 0 // not a loaded version until every variable is
        for (const w of req.weights) tf.tidy(() => trained.get(w.role)!.assign(tf.tensor(w.data, w.shape, 'float32')))
        replica.model.setGrowthMasks(req.masks)
        replica.version = req.version
        return { version: req.version }
      }
      case 'teacher': {
        const replica = this.needReplica()
        replica.teacher?.dispose()
        replica.teacher = null
        if (req.teacher) {
          const teacher = new TransformerModel(req.teacher.config)
          try {
            teacher.setWeights(weightsOf(req.teacher.weights))
          } catch (error) {
            teacher.dispose()
            throw error
          }
          replica.teacher = teacher
        }
        return {}
      }
      case 'gradients': {
        const replica = this.needReplica()
        if (replica.version !== req.version) throw new Error(`gradients on weights version ${req.version}, but the page holds version ${replica.version || 'none'}`)
        const { loss, grads } = await shardGradients(replica.model, replica.trained, req.shard, req.weight, req.opts, req.objective, replica.teacher)
        return { loss, grads, tensors: tf.memory().numTensors }
      }
    }
  }

  private needReplica(): Replica {
    if (!this.replica) throw new Error('no replica model: send model first')
    return this.replica
  }

  private need<T>(x: T | null): T {
    if (x === null) throw new Error('no model: send init first')
    return x
  }

  dispose(): void {
    this.replica?.teacher?.dispose()
    this.replica?.model.dispose()
    this.replica = null
    this.trainer?.dispose()
    this.model?.dispose()
    this.trainer = null
    this.model = null
  }
}
