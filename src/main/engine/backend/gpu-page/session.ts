// What the GPU page does with each request (src/shared/gpu-page.ts): build the model and its trainer, run one
// update, read the weights, dispose. It runs on whatever tfjs backend is active (the page: webgpu; a Node test:
// wasm, as the reference), imports no Node module, and answers every request, a failure as {ok: false, error}.
import * as tf from '@tensorflow/tfjs'
import { GpuRequest, type GpuAdapter, type GpuInitResult, type GpuResponse, type GpuStepResult, type GpuWeights } from '../../../../shared/gpu-page'
import { type LossBatch, TransformerModel } from '../../model/model'
import { Trainer } from '../../model/train'

export class GpuSession {
  private model: TransformerModel | null = null
  private trainer: Trainer | null = null

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

  private async run(req: GpuRequest): Promise<GpuInitResult | GpuAdapter | GpuStepResult | GpuWeights | Record<string, never>> {
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
    }
  }

  private need<T>(x: T | null): T {
    if (x === null) throw new Error('no model: send init first')
    return x
  }

  dispose(): void {
    this.trainer?.dispose()
    this.model?.dispose()
    this.trainer = null
    this.model = null
  }
}
