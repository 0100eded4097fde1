// Training through the GPU page (docs/webgpu.md, "Training through the GPU window"): the page (Chromium's WebGPU, in
// Electron's hidden window) as the one gradient replica of data-parallel training, which takes every micro-batch
// whole. The run's worker stays the coordinator: it keeps the only model and optimizer, checkpoints, growth,
// validation and every plugin; each update it sends the page its trained weights when they changed (numbered, with
// the growth masks), the model's blueprint when the model changed, logit-KD's teacher when it changed, and each
// micro-batch's rows, and adds the page's gradients of weight x objective before its one clipped AdamW step.
// Nothing here knows Electron: the page is reached through an injected transport (a test drives a real Chromium page
// with it; Electron relays it from the worker thread to the main process's port).
import type * as tf from '@tensorflow/tfjs'
import { GPU_RESULTS, type GpuRequestInput, type GpuResultOf, type GpuTensor } from '../../../shared/gpu-page'
import {
  readTensors,
  trainedVariables,
  type ForwardOptions,
  type GradientShard,
  type GrowthMasks,
  type ReplicaObjectiveSettings,
  type ShardedGradients,
  type ShardResult,
  type TransformerModel,
  type Weights
} from '../model'

/** The replica ops of the page's protocol. */
export type GpuReplicaOp = 'model' | 'weights' | 'teacher' | 'gradients'
/** A request of one op, without its id (the transport numbers requests). */
export type GpuReplicaCall<O extends GpuReplicaOp> = Omit<Extract<GpuRequestInput, { op: O }>, 'id'>
/** Any request of the replica ops. */
export type GpuReplicaRequest = { [O in GpuReplicaOp]: GpuReplicaCall<O> }[GpuReplicaOp]

/**
 * How the coordinator reaches the GPU page: one request, answered with its result, or rejected with why (an error
 * answer, a closed page, a dead renderer). Results are checked here against the protocol whatever the transport.
 */
export interface GpuPageTransport {
  request(call: GpuReplicaRequest): Promise<unknown>
}

/**
 * The host's GPU page as the engine gets it (Electron: its GPU window, kept by the probe): the adapter's name for
 * reports and logs, and a transport to the page; the trainer host relays a run's requests to it from the run's worker.
 */
export interface GpuPageRelay extends GpuPageTransport {
  /** the adapter, one line (describeAdapter): "nvidia ampere RTX 3060" */
  readonly device: string
}

const tensorsOf = (weights: Weights): GpuTensor[] => Object.entries(weights).map(([role, w]) => ({ role, shape: [...w.shape], data: w.data }))

/** An array on a buffer of its own (a structured clone copies a view's whole buffer). */
const own = <A extends Int32Array | Float32Array>(a: A): A => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as A))

function sameWeights(a: Weights | null, b: Weights): boolean {
  if (!a) return false
  for (const [role, w] of Object.entries(b)) {
    const x = a[role]?.data
    if (!x || x.length !== w.data.length) return false
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], w.data[i])) return false
  }
  return Object.keys(a).length === Object.keys(b).length
}

const masksKey = (m: GrowthMasks | null): string => JSON.stringify(m ? [m.hidden ? [...m.hidden] : null, m.layerGates] : null)

export interface GpuPageGradientsOptions {
  /** how errors and logs name the page (default 'the GPU window') */
  label?: string
}

export class GpuPageGradients implements ShardedGradients {
  readonly replicas = 1
  readonly wholeMicroBatches = true
  /** micro-batches the page has computed so far */
  shardsComputed = 0
  /** weight versions sent so far */
  weightsSent = 0
  /** tensors alive in the page at its last answer */
  pageTensors = 0
  readonly label: string
  private model: TransformerModel | null = null
  private layoutKey = ''
  private trained = new Map<string, tf.Variable>()
  /** the teacher the coordinator's objective reads, and the one the page holds */
  private teacher: TransformerModel | null = null
  private pageTeacher: TransformerModel | null = null
  private sent: Weights | null = null
  private sentMasks = ''
  private version = 0
  private failed: Error | null = null

  constructor(
    private readonly transport: GpuPageTransport,
    options: GpuPageGradientsOptions = {}
  ) {
    this.label = options.label ?? 'the GPU window'
  }

  /** One request; its result checked; any failure (then every later call) an error naming the page. */
  private async ask<O extends GpuReplicaOp>(call: GpuReplicaRequest & { op: O }): Promise<GpuResultOf<O>> {
    if (this.failed) throw this.failed
    try {
      const raw = await this.transport.request(call)
      const parsed = GPU_RESULTS[call.op].safeParse(raw)
      if (!parsed.success)
        throw new Error(`its answer to ${call.op} is outside the protocol: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
      return parsed.data as GpuResultOf<O>
    } catch (error) {
      this.failed = new Error(`training on ${this.label} failed (${call.op}): ${error instanceof Error ? error.message : String(error)}`)
      throw this.failed
    }
  }

  /** `teacher` undefined keeps the current teacher. */
  async sync(model: TransformerModel, teacher?: TransformerModel | null): Promise<void> {
    const trained = trainedVariables(model)
    const key = JSON.stringify([model.config, [...trained].map(([role, v]) => [role, v.shape])])
    if (model !== this.model || key !== this.layoutKey) {
      // a new model (the first sync, a new stage's PNN column, after growth): the page builds it anew (and drops its teacher)
      const blueprint = await model.replicaBlueprint()
      await this.ask({ op: 'model', blueprint: { kind: blueprint.kind, config: { ...blueprint.config }, constants: tensorsOf(blueprint.constants) } })
      this.model = model
      this.layoutKey = key
      this.trained = trained
      this.sent = null
      this.pageTeacher = null
    }
    if (teacher !== undefined) this.teacher = teacher
    if (this.teacher !== this.pageTeacher) {
      const t = this.teacher
      await this.ask({ op: 'teacher', teacher: t ? { config: { ...t.config }, weights: tensorsOf(await t.readWeights()) } : null })
      this.pageTeacher = t
    }
    const values = await readTensors(trained)
    const masks = model.getGrowthMasks()
    if (!sameWeights(this.sent, values) || masksKey(masks) !== this.sentMasks) {
      const version = this.version + 1
      await this.ask({ op: 'weights', version, weights: tensorsOf(values), masks })
      this.version = version
      this.sent = values
      this.sentMasks = masksKey(masks)
      this.weightsSent++
    }
  }

  async compute(shards: Array<GradientShard | null>, opts: ForwardOptions, objective: ReplicaObjectiveSettings | null = null): Promise<Array<ShardResult | null>> {
    if (shards.length > 1) throw new Error(`GpuPageGradients.compute: ${shards.length} shards for one page`)
    if (this.version === 0) throw new Error('GpuPageGradients.compute: sync the model first')
    const shard = shards[0]
    if (!shard) return [null]
    const { weight, shape, inputIds, labels } = shard
    const answer = await this.ask({
      op: 'gradients',
      version: this.version,
      shard: { shape, inputIds: own(inputIds), labels: own(labels) },
      weight,
      opts: {
        ...(opts.training !== undefined ? { training: opts.training } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.padId !== undefined ? { padId: opts.padId } : {})
      },
      objective: objective ? { kind: objective.kind, alpha: objective.alpha, temperature: objective.temperature } : null
    })
    const grads = new Map<string, Float32Array>()
    for (const g of answer.grads) {
      const v = this.trained.get(g.role)
      if (!v || v.size !== g.data.length) {
        this.failed = new Error(
          `training on ${this.label} failed (gradients): a gradient for ${g.role} with ${g.data.length} values, which the model ${v ? `has with ${v.size}` : 'does not have'}`
        )
        throw this.failed
      }
      grads.set(g.role, g.data)
    }
    this.pageTensors = answer.tensors
    this.shardsComputed++
    return [{ loss: answer.loss, grads }]
  }
}
