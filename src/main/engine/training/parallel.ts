// Data-parallel training inside one run: the run's worker (the coordinator) keeps the only optimizer, and
// N-1 replica threads (replica.ts) hold copies of the model. Each update the coordinator copies the model's
// weights (and growth masks) into a SharedArrayBuffer the replicas read; every micro-batch is split by
// rows, each replica computes the gradients of its shard's loss weighted by its share of the targets and
// writes them into its own SharedArrayBuffer; the coordinator adds them (in replica order) to its own
// shard's and takes the one clipped AdamW step. Replicas never update weights themselves, so they equal
// the coordinator's bit for bit after every sync (checked by `digests`), and growth, resume, checkpoints
// and every plugin that works on the coordinator's model and its averaged gradient work unchanged.
import { createHash } from 'node:crypto'
import os from 'node:os'
import { Worker, type ResourceLimits } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import type { BackendName } from '../../../shared/contract'
import { nativeMatmulActive } from '../backend/native-matmul'
import { mainBundle } from '../install-paths'
import { TransformerModel, type ForwardOptions, type GradientShard, type GrowthMasks, type ModelConfig, type ShardedGradients, type ShardResult } from '../model'

/** Where each parameter lives in the shared weight (and gradient) buffers, in float32 elements. */
export interface SlotLayout {
  role: string
  shape: number[]
  offset: number
  size: number
}

export type ToReplica =
  | { type: 'init'; backend: BackendName }
  | { type: 'model'; config: ModelConfig; layout: SlotLayout[]; weights: SharedArrayBuffer; grads: SharedArrayBuffer }
  | { type: 'compute'; id: number; version: number; masks: GrowthMasks | null; shard: Omit<GradientShard, 'weight'>; weight: number; opts: ForwardOptions }
  | { type: 'digest'; id: number; version: number; masks: GrowthMasks | null }

export type FromReplica =
  | { type: 'ready'; backend: string }
  | { type: 'computed'; id: number; loss: number; roles: string[]; tensors: number }
  | { type: 'digest'; id: number; digest: string; tensors: number }
  | { type: 'error'; id: number | null; message: string }

/** The replicas' backend: the coordinator's own (only tfjs's CPU backends, whose threads are separate, are sharded). */
export function replicaBackend(): BackendName | null {
  const name = tf.getBackend()
  if (name === 'wasm') return nativeMatmulActive() ? 'wasm-native' : 'wasm'
  if (name === 'cpu') return 'cpu'
  return null
}

/** The CPUs Node reports (os.availableParallelism: logical CPUs; Node cannot tell physical cores from hyper-threads). */
export const coreCount = (): number => Math.max(1, os.availableParallelism?.() ?? os.cpus().length)

/** A SHA-256 of weights in layout order (replicas and coordinator hash the same bytes). */
export function weightDigest(layout: SlotLayout[], read: (role: string) => Float32Array): string {
  const hash = createHash('sha256')
  for (const slot of layout) {
    const data = read(slot.role)
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
  }
  return hash.digest('hex')
}

interface Replica {
  worker: Worker
  grads: Float32Array | null
  /** the answer awaited from it, if any */
  waiting: { id: number; resolve: (message: FromReplica) => void; reject: (error: Error) => void } | null
  tensors: number
  failed: Error | null
}

export interface ReplicaPoolOptions {
  /** threads besides the coordinator */
  replicas: number
  backend: BackendName
  resourceLimits?: ResourceLimits
  /** the replica bundle (default out/main/train-replica.js) */
  file?: string
}

export class ReplicaPool implements ShardedGradients {
  readonly replicas: number
  /** shards the replicas have computed so far */
  shardsComputed = 0
  private readonly members: Replica[] = []
  private layout: SlotLayout[] = []
  private layoutKey = ''
  private weights: Float32Array | null = null
  private version = 0
  private masks: GrowthMasks | null = null
  private nextId = 1
  private closed = false

  private constructor(private readonly options: ReplicaPoolOptions) {
    this.replicas = options.replicas
  }

  /** Starts the replica threads and waits until each has its backend. */
  static async start(options: ReplicaPoolOptions): Promise<ReplicaPool> {
    if (!Number.isInteger(options.replicas) || options.replicas < 1) throw new Error(`ReplicaPool: replicas must be a positive integer, got ${options.replicas}`)
    const pool = new ReplicaPool(options)
    const file = options.file ?? mainBundle('train-replica.js')
    for (let i = 0; i < options.replicas; i++) {
      const worker = new Worker(file, { resourceLimits: options.resourceLimits })
      const member: Replica = { worker, grads: null, waiting: null, tensors: 0, failed: null }
      worker.on('message', (message: FromReplica) => pool.answer(member, message))
      const fail = (error: Error): void => {
        member.failed ??= error
        member.waiting?.reject(error)
        member.waiting = null
      }
      worker.on('error', (error) => fail(new Error(`replica ${i + 1} failed: ${error.message}`)))
      worker.on('exit', (code) => fail(new Error(`replica ${i + 1} stopped (exit code ${code})`)))
      pool.members.push(member)
    }
    try {
      await Promise.all(pool.members.map((m) => pool.ask(m, { type: 'init', backend: options.backend }, 0)))
    } catch (error) {
      await pool.dispose()
      throw error
    }
    return pool
  }

  private answer(member: Replica, message: FromReplica): void {
    const waiting = member.waiting
    if (!waiting) return
    member.waiting = null
    if (message.type === 'error') waiting.reject(new Error(`replica ${this.members.indexOf(member) + 1}: ${message.message}`))
    else waiting.resolve(message)
  }

  private ask(member: Replica, message: ToReplica, id: number): Promise<FromReplica> {
    if (member.failed) return Promise.reject(member.failed)
    if (member.waiting) return Promise.reject(new Error('ReplicaPool: a replica was asked twice at once'))
    return new Promise((resolve, reject) => {
      member.waiting = { id, resolve, reject }
      member.worker.postMessage(message)
    })
  }

  /** Only the plain model: a subclass (PNN's columns and laterals) has structure the replicas would not rebuild. */
  supports(model: TransformerModel): boolean {
    return model.constructor === TransformerModel
  }

  async sync(model: TransformerModel): Promise<void> {
    const key = JSON.stringify([model.config, [...model.params].map(([role, v]) => [role, v.shape])])
    if (key !== this.layoutKey) {
      // a new shape (the first sync, or after growth): new buffers, and each replica builds the model anew
      let offset = 0
      this.layout = [...model.params].map(([role, v]) => {
        const slot = { role, shape: [...v.shape], offset, size: v.size }
        offset += v.size
        return slot
      })
      const weights = new SharedArrayBuffer(offset * 4)
      this.weights = new Float32Array(weights)
      for (const member of this.members) {
        const grads = new SharedArrayBuffer(offset * 4)
        member.grads = new Float32Array(grads)
        member.worker.postMessage({ type: 'model', config: model.config, layout: this.layout, weights, grads } satisfies ToReplica)
      }
      this.layoutKey = key
    }
    const values = await model.readWeights()
    for (const slot of this.layout) this.weights!.set(values[slot.role]!.data, slot.offset)
    this.masks = model.getGrowthMasks()
    this.version++
  }

  async compute(shards: Array<GradientShard | null>, opts: ForwardOptions): Promise<Array<ShardResult | null>> {
    if (shards.length > this.members.length) throw new Error(`ReplicaPool.compute: ${shards.length} shards for ${this.members.length} replicas`)
    if (this.version === 0) throw new Error('ReplicaPool.compute: sync the model first')
    const asked = shards.map((shard, i) => {
      if (!shard) return null
      const member = this.members[i]!
      const id = this.nextId++
      const { weight, ...rows } = shard
      return this.ask(member, { type: 'compute', id, version: this.version, masks: this.masks, shard: rows, weight, opts }, id)
    })
    const answers = await Promise.all(asked)
    return answers.map((answer, i) => {
      if (!answer) return null
      if (answer.type !== 'computed') throw new Error(`replica ${i + 1} answered ${answer.type} to a compute request`)
      const member = this.members[i]!
      member.tensors = answer.tensors
      this.shardsComputed++
      const grads = new Map<string, Float32Array>()
      const roles = new Set(answer.roles)
      for (const slot of this.layout) if (roles.has(slot.role)) grads.set(slot.role, member.grads!.subarray(slot.offset, slot.offset + slot.size))
      return { loss: answer.loss, grads }
    })
  }

  /** Each replica's SHA-256 of its model's weights (after loading the last sync), and the coordinator's of the synced buffer. */
  async digests(): Promise<{ coordinator: string; replicas: string[] }> {
    if (!this.weights) throw new Error('ReplicaPool.digests: nothing synced yet')
    const weights = this.weights
    const layout = this.layout
    const coordinator = weightDigest(layout, (role) => {
      const slot = layout.find((s) => s.role === role)!
      return weights.subarray(slot.offset, slot.offset + slot.size)
    })
    const replicas: string[] = []
    for (const member of this.members) {
      const id = this.nextId++
      const answer = await this.ask(member, { type: 'digest', id, version: this.version, masks: this.masks }, id)
      if (answer.type !== 'digest') throw new Error(`a replica answered ${answer.type} to a digest request`)
      member.tensors = answer.tensors
      replicas.push(answer.digest)
    }
    return { coordinator, replicas }
  }

  /** Tensors alive in each replica at its last answer. */
  replicaTensors(): number[] {
    return this.members.map((m) => m.tensors)
  }

  async dispose(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all(this.members.map((m) => m.worker.terminate()))
  }
}
