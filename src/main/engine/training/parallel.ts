// Data-parallel training inside one run: the run's worker (the coordinator) keeps the only optimizer, and
// N-1 replica threads (replica.ts) hold copies of the model. Each update the coordinator copies the model's
// trained weights (PNN: its laterals too) and growth masks into a SharedArrayBuffer the replicas read;
// every micro-batch is split by rows, each replica computes the gradients of its shard's loss (or of the
// distillation objective) weighted by its share of the targets and writes them into its own
// SharedArrayBuffer; the coordinator adds them (in replica order) to its own shard's and takes the one
// clipped AdamW step. Replicas never update weights themselves, so they equal the coordinator's bit for
// bit after every sync (checked by `digests`), and growth, resume, checkpoints and every plugin that works
// on the coordinator's model and its summed gradient (EWC/MAS penalties, A-GEM's projection) work
// unchanged. What is frozen for a stage goes to the replicas once, in SharedArrayBuffers of its own: a
// model's constants (PNN's earlier columns, from its blueprint) when the model changes, the logit-KD
// teacher when it changes.
import { createHash } from 'node:crypto'
import os from 'node:os'
import { Worker, type ResourceLimits } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import type { BackendName } from '../../../shared/contract'
import { nativeMatmulActive } from '../backend/native-matmul'
import { mainBundle } from '../install-paths'
import type { LossInput, ShardedEvaluation } from './evaluate'
import {
  trainedVariables,
  readTensors,
  type ForwardOptions,
  type GradientShard,
  type GrowthMasks,
  type ModelConfig,
  type ReplicaObjectiveSettings,
  type ShardedGradients,
  type ShardResult,
  type TransformerModel,
  type Weights
} from '../model'

/** Where each parameter lives in the shared weight (and gradient) buffers, in float32 elements. */
export interface SlotLayout {
  role: string
  shape: number[]
  offset: number
  size: number
}

/** Named tensors packed one after another into one SharedArrayBuffer. */
export interface PackedWeights {
  layout: SlotLayout[]
  buffer: SharedArrayBuffer
}

/** Packs named tensor values (in the given order) into a new SharedArrayBuffer. */
export function packWeights(weights: Weights): PackedWeights {
  let offset = 0
  const layout = Object.entries(weights).map(([role, w]) => {
    const slot = { role, shape: [...w.shape], offset, size: w.data.length }
    offset += w.data.length
    return slot
  })
  const buffer = new SharedArrayBuffer(offset * 4)
  const view = new Float32Array(buffer)
  for (const slot of layout) view.set(weights[slot.role]!.data, slot.offset)
  return { layout, buffer }
}

/** The values of packed weights, as copies (the cpu backend keeps the array a tensor is made from). */
export function unpackWeights(packed: PackedWeights): Weights {
  const view = new Float32Array(packed.buffer)
  const out: Weights = {}
  for (const slot of packed.layout) out[slot.role] = { shape: slot.shape, data: view.slice(slot.offset, slot.offset + slot.size) }
  return out
}

export type ToReplica =
  | { type: 'init'; backend: BackendName }
  | {
      type: 'model'
      blueprint: { kind: string; config: ModelConfig }
      constants: PackedWeights
      layout: SlotLayout[]
      weights: SharedArrayBuffer
      grads: SharedArrayBuffer
    }
  | { type: 'teacher'; teacher: { config: ModelConfig; weights: PackedWeights } | null }
  | {
      type: 'compute'
      id: number
      version: number
      masks: GrowthMasks | null
      shard: Omit<GradientShard, 'weight'>
      weight: number
      opts: ForwardOptions
      objective: ReplicaObjectiveSettings | null
    }
  | { type: 'digest'; id: number; version: number; masks: GrowthMasks | null }
  | { type: 'evaluate'; id: number; version: number; masks: GrowthMasks | null; inputs: LossInput[]; padId: number; column: number | null }

export type FromReplica =
  | { type: 'ready'; backend: string }
  | { type: 'computed'; id: number; loss: number; roles: string[]; tensors: number; timing: ShardTiming }
  | { type: 'digest'; id: number; digest: string; tensors: number }
  | { type: 'evaluated'; id: number; sums: Float32Array; tensors: number }
  | { type: 'error'; id: number | null; message: string }

/** Where a replica's time on one shard went, in milliseconds (its thread's CPU and run-queue wait: null off Linux). */
export interface ShardTiming {
  /** loading the synced weights (only after a sync) */
  loadMs: number
  /** forward and backward of its shard */
  gradMs: number
  /** reading the gradients and writing them into shared memory */
  writeMs: number
  /** its thread's CPU time over the three */
  cpuMs: number | null
  /** its thread's time ready to run but waiting for a CPU (machine load) */
  waitMs: number | null
}

/** A replica's shard timings added up since the pool started or `resetTimings`. */
export interface ReplicaTimings extends ShardTiming {
  shards: number
}

/** The replicas' backend: the coordinator's own (only tfjs's CPU backends, whose threads are separate, are sharded). */
export function replicaBackend(): BackendName | null {
  const name = tf.getBackend()
  if (name === 'wasm') return nativeMatmulActive() ? 'wasm-native' : 'wasm'
  if (name === 'cpu') return 'cpu'
  return null
}

/** The CPUs Node reports (os.availableParallelism: logical CPUs; Node cannot tell physical cores from hyper-threads). */
export const coreCount = (): number => Math.max(1, os.availableParallelism?.() ?? os.cpus().length)

/** A SHA-256 of weights in layout order (replicas and coordinator hash the same bytes); several sets (model, constants, teacher) hash one after another. */
export function weightDigest(...sets: Array<[SlotLayout[], (role: string) => Float32Array]>): string {
  const hash = createHash('sha256')
  for (const [layout, read] of sets) {
    for (const slot of layout) {
      const data = read(slot.role)
      hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    }
  }
  return hash.digest('hex')
}

/** Reads a slot of packed weights by role. */
const slotReader =
  (layout: SlotLayout[], view: Float32Array) =>
  (role: string): Float32Array => {
    const slot = layout.find((s) => s.role === role)!
    return view.subarray(slot.offset, slot.offset + slot.size)
  }

interface Replica {
  worker: Worker
  grads: Float32Array | null
  /** the answer awaited from it, if any */
  waiting: { id: number; resolve: (message: FromReplica) => void; reject: (error: Error) => void } | null
  tensors: number
  failed: Error | null
  timings: ReplicaTimings
}

export interface ReplicaPoolOptions {
  /** threads besides the coordinator */
  replicas: number
  backend: BackendName
  resourceLimits?: ResourceLimits
  /** the replica bundle (default out/main/train-replica.js) */
  file?: string
}

export class ReplicaPool implements ShardedGradients, ShardedEvaluation {
  readonly replicas: number
  /** shards the replicas have computed so far */
  shardsComputed = 0
  /** validation parts the replicas have evaluated so far */
  partsEvaluated = 0
  private readonly members: Replica[] = []
  private layout: SlotLayout[] = []
  private layoutKey = ''
  /** the model the replicas were built from (a new one, even of the same shape, may have other constants) */
  private model: TransformerModel | null = null
  private constants: PackedWeights | null = null
  private teacher: TransformerModel | null = null
  private teacherWeights: PackedWeights | null = null
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
      const member: Replica = { worker, grads: null, waiting: null, tensors: 0, failed: null, timings: noTimings() }
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

  /** `teacher` undefined keeps the replicas' teacher (validation syncs only the weights). */
  async sync(model: TransformerModel, teacher?: TransformerModel | null): Promise<void> {
    const trained = trainedVariables(model)
    const key = JSON.stringify([model.config, [...trained].map(([role, v]) => [role, v.shape])])
    if (key !== this.layoutKey || model !== this.model) {
      // a new model (the first sync, a new stage's PNN column, after growth): new buffers, and each replica builds it anew
      const blueprint = await model.replicaBlueprint()
      let offset = 0
      this.layout = [...trained].map(([role, v]) => {
        const slot = { role, shape: [...v.shape], offset, size: v.size }
        offset += v.size
        return slot
      })
      const weights = new SharedArrayBuffer(offset * 4)
      this.weights = new Float32Array(weights)
      this.constants = packWeights(blueprint.constants)
      for (const member of this.members) {
        const grads = new SharedArrayBuffer(offset * 4)
        member.grads = new Float32Array(grads)
        const message: ToReplica = {
          type: 'model',
          blueprint: { kind: blueprint.kind, config: blueprint.config },
          constants: this.constants,
          layout: this.layout,
          weights,
          grads
        }
        member.worker.postMessage(message)
      }
      this.layoutKey = key
      this.model = model
    }
    if (teacher !== undefined && teacher !== this.teacher) {
      // a new teacher (once per stage of logit-KD): its frozen weights go to the replicas once
      this.teacherWeights = teacher ? packWeights(await teacher.readWeights()) : null
      const message: ToReplica = { type: 'teacher', teacher: teacher && this.teacherWeights ? { config: teacher.config, weights: this.teacherWeights } : null }
      for (const member of this.members) member.worker.postMessage(message)
      this.teacher = teacher
    }
    const values = await readTensors(trained)
    for (const slot of this.layout) this.weights!.set(values[slot.role]!.data, slot.offset)
    this.masks = model.getGrowthMasks()
    this.version++
  }

  async compute(shards: Array<GradientShard | null>, opts: ForwardOptions, objective: ReplicaObjectiveSettings | null = null): Promise<Array<ShardResult | null>> {
    if (shards.length > this.members.length) throw new Error(`ReplicaPool.compute: ${shards.length} shards for ${this.members.length} replicas`)
    if (this.version === 0) throw new Error('ReplicaPool.compute: sync the model first')
    const asked = shards.map((shard, i) => {
      if (!shard) return null
      const member = this.members[i]!
      const id = this.nextId++
      const { weight, ...rows } = shard
      return this.ask(member, { type: 'compute', id, version: this.version, masks: this.masks, shard: rows, weight, opts, objective }, id)
    })
    const answers = await Promise.all(asked)
    return answers.map((answer, i) => {
      if (!answer) return null
      if (answer.type !== 'computed') throw new Error(`replica ${i + 1} answered ${answer.type} to a compute request`)
      const member = this.members[i]!
      member.tensors = answer.tensors
      addTiming(member.timings, answer.timing)
      this.shardsComputed++
      const grads = new Map<string, Float32Array>()
      const roles = new Set(answer.roles)
      for (const slot of this.layout) if (roles.has(slot.role)) grads.set(slot.role, member.grads!.subarray(slot.offset, slot.offset + slot.size))
      return { loss: answer.loss, grads }
    })
  }

  async evaluate(parts: LossInput[][], padId: number, column: number | null): Promise<Float32Array[]> {
    if (parts.length > this.members.length) throw new Error(`ReplicaPool.evaluate: ${parts.length} parts for ${this.members.length} replicas`)
    if (this.version === 0) throw new Error('ReplicaPool.evaluate: sync the model first')
    const asked = parts.map((inputs, i) => {
      const id = this.nextId++
      return this.ask(this.members[i]!, { type: 'evaluate', id, version: this.version, masks: this.masks, inputs, padId, column }, id)
    })
    const answers = await Promise.all(asked)
    return answers.map((answer, i) => {
      if (answer.type !== 'evaluated') throw new Error(`replica ${i + 1} answered ${answer.type} to an evaluate request`)
      this.members[i]!.tensors = answer.tensors
      this.partsEvaluated++
      return answer.sums
    })
  }

  /** Each replica's SHA-256 of its model's trained weights (after loading the last sync), its constants and its teacher, and the coordinator's of the synced buffers. */
  async digests(): Promise<{ coordinator: string; replicas: string[] }> {
    if (!this.weights) throw new Error('ReplicaPool.digests: nothing synced yet')
    const sets: Array<[SlotLayout[], (role: string) => Float32Array]> = [[this.layout, slotReader(this.layout, this.weights)]]
    if (this.constants) sets.push([this.constants.layout, slotReader(this.constants.layout, new Float32Array(this.constants.buffer))])
    if (this.teacherWeights) sets.push([this.teacherWeights.layout, slotReader(this.teacherWeights.layout, new Float32Array(this.teacherWeights.buffer))])
    const coordinator = weightDigest(...sets)
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

  /** Each replica's shard timings added up since the start or the last reset (bench:train --phases). */
  timings(): ReplicaTimings[] {
    return this.members.map((m) => ({ ...m.timings }))
  }

  resetTimings(): void {
    for (const m of this.members) m.timings = noTimings()
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

function noTimings(): ReplicaTimings {
  return { shards: 0, loadMs: 0, gradMs: 0, writeMs: 0, cpuMs: 0, waitMs: 0 }
}

function addTiming(sum: ReplicaTimings, t: ShardTiming): void {
  sum.shards++
  sum.loadMs += t.loadMs
  sum.gradMs += t.gradMs
  sum.writeMs += t.writeMs
  sum.cpuMs = sum.cpuMs === null || t.cpuMs === null ? null : sum.cpuMs + t.cpuMs
  sum.waitMs = sum.waitMs === null || t.waitMs === null ? null : sum.waitMs + t.waitMs
}
