// Entry point of a replica thread of data-parallel training (bundled as out/main/train-replica.js; the pool
// is training/parallel.ts). It holds a copy of the model (rebuilt from its blueprint: PNN with its frozen
// columns) and, for logit-KD, of the teacher; it loads the coordinator's trained weights from shared memory
// when they changed, and computes the gradients of weight x objective on the shard it is given (the LM loss,
// or the distillation objective against its teacher).
import { parentPort } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import { selectBackend } from '../backend/select'
import { readTensors, trainedVariables, TransformerModel } from '../model'
import { threadTime, threadTimeSince } from '../util/thread-time'
import { scoredSums } from './evaluate'
import { buildReplicaModel } from './replica-model'
import { shardGradients } from './shard-gradients'
import { unpackWeights, weightDigest, type FromReplica, type PackedWeights, type SlotLayout, type ToReplica } from './parallel'

const port = parentPort
if (!port) throw new Error('train-replica must run in a worker thread')
const post = (message: FromReplica): void => port.postMessage(message)

let model: TransformerModel | null = null
let trained = new Map<string, tf.Variable>()
let constants: PackedWeights | null = null
let teacher: { model: TransformerModel; weights: PackedWeights } | null = null
let layout: SlotLayout[] = []
let weights: Float32Array | null = null
let grads: Float32Array | null = null
let loaded = -1

/** Loads the shared weights (and masks) when the coordinator synced since the last load. */
function load(version: number, masks: Parameters<TransformerModel['setGrowthMasks']>[0]): TransformerModel {
  if (!model || !weights) throw new Error('no model was sent to this replica')
  if (version !== loaded) {
    // the cpu backend keeps the array it is given; wasm copies it into its heap
    const copy = tf.getBackend() === 'cpu'
    for (const slot of layout) {
      const view = weights.subarray(slot.offset, slot.offset + slot.size)
      const v = trained.get(slot.role)
      if (!v) throw new Error(`the replica's model has no trained variable ${slot.role}`)
      tf.tidy(() => v.assign(tf.tensor(copy ? view.slice() : view, slot.shape, 'float32')))
    }
    loaded = version
  }
  model.setGrowthMasks(masks)
  return model
}

async function handle(message: ToReplica): Promise<void> {
  switch (message.type) {
    case 'init': {
      const report = await selectBackend({ flag: message.backend })
      return post({ type: 'ready', backend: report.active })
    }
    case 'model': {
      model?.dispose()
      model = buildReplicaModel(message.blueprint.kind, message.blueprint.config, unpackWeights(message.constants))
      trained = trainedVariables(model)
      constants = message.constants
      layout = message.layout
      weights = new Float32Array(message.weights)
      grads = new Float32Array(message.grads)
      loaded = -1
      return
    }
    case 'teacher': {
      teacher?.model.dispose()
      teacher = null
      if (message.teacher) {
        const t = new TransformerModel(message.teacher.config)
        t.setWeights(unpackWeights(message.teacher.weights))
        teacher = { model: t, weights: message.teacher.weights }
      }
      return
    }
    case 'compute': {
      const t0 = performance.now()
      const thread0 = threadTime()
      const m = load(message.version, message.masks)
      const t1 = performance.now()
      let t2 = t1
      const objective = message.objective
      const computed = await shardGradients(m, trained, message.shard, message.weight, message.opts, objective, objective ? (teacher?.model ?? null) : null, () => {
        t2 = performance.now()
      })
      const roles: string[] = []
      for (const { role, data } of computed.grads) {
        const slot = layout.find((s) => s.role === role)
        if (!slot) throw new Error(`the replica's layout has no slot for ${role}`)
        if (data.length !== slot.size) throw new Error(`gradient of ${role} has ${data.length} values, expected ${slot.size}`)
        grads!.set(data, slot.offset)
        roles.push(role)
      }
      const loss = computed.loss
      const t3 = performance.now()
      const thread = threadTimeSince(thread0)
      const timing = { loadMs: t1 - t0, gradMs: t2 - t1, writeMs: t3 - t2, cpuMs: thread?.cpuMs ?? null, waitMs: thread?.waitMs ?? null }
      return post({ type: 'computed', id: message.id, loss, roles, tensors: tf.memory().numTensors, timing })
    }
    case 'evaluate': {
      const m = load(message.version, message.masks)
      const routed = m as { readColumn?: number | null }
      if (message.column !== null && !('readColumn' in m)) throw new Error(`the replica's model has no columns to read column ${message.column} from`)
      if ('readColumn' in m) routed.readColumn = message.column
      try {
        const sums = await scoredSums(m, message.inputs, message.padId, message.inputs[0]!.scored!.documents)
        return post({ type: 'evaluated', id: message.id, sums, tensors: tf.memory().numTensors })
      } finally {
        if ('readColumn' in m) routed.readColumn = null
      }
    }
    case 'digest': {
      const m = load(message.version, message.masks)
      const values = await readTensors(trained)
      const sets: Parameters<typeof weightDigest> = [[layout, (role) => values[role]!.data]]
      if (constants) {
        const held = (await m.replicaBlueprint()).constants
        sets.push([constants.layout, (role) => held[role]!.data])
      }
      if (teacher) {
        const held = await teacher.model.readWeights()
        sets.push([teacher.weights.layout, (role) => held[role]!.data])
      }
      return post({ type: 'digest', id: message.id, digest: weightDigest(...sets), tensors: tf.memory().numTensors })
    }
  }
}

port.on('message', (message: ToReplica) => {
  handle(message).then(
    () => undefined,
    (error: unknown) => post({ type: 'error', id: 'id' in message ? message.id : null, message: error instanceof Error ? error.message : String(error) })
  )
})
