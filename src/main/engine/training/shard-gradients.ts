// The gradients of weight x objective on one shard of a micro-batch: what a data-parallel replica thread
// (replica.ts) and the GPU page (backend/gpu-page/session.ts) compute for the coordinator. The objective is the
// model's LM/MLM loss, or logit-KD's distillation objective against a teacher the caller holds. Node-free: the
// GPU page bundles it.
import * as tf from '@tensorflow/tfjs'
import { distillTerms } from '../methods/distill-terms'
// the model's modules, not its index (which loads the native matmul, a Node module)
import type { ForwardOptions, LossBatch, TransformerModel } from '../model/model'
import type { GradientShard, ReplicaObjectiveSettings } from '../model/train'

export interface ShardGradientsResult {
  /** weight x the shard's LM loss (what the update reports) */
  loss: number
  /** the gradients of weight x objective, by role, only for the roles the objective reached, in tfjs's order */
  grads: Array<{ role: string; data: Float32Array }>
}

/**
 * Forward and backward of `model` on `shard`, the gradients read back. `trained`: the variables the update trains,
 * by role (trainedVariables). `onGradients` is called once the gradients are computed, before they are read (timings).
 */
export async function shardGradients(
  model: TransformerModel,
  trained: Map<string, tf.Variable>,
  shard: Omit<GradientShard, 'weight'>,
  weight: number,
  opts: ForwardOptions,
  objective: ReplicaObjectiveSettings | null,
  teacher: TransformerModel | null,
  onGradients?: () => void
): Promise<ShardGradientsResult> {
  if (objective && !teacher) throw new Error('a distillation shard came before its teacher')
  const { shape, inputIds, labels } = shard
  const batch: LossBatch = {
    inputIds: tf.tensor2d(inputIds, shape, 'int32'),
    labels: tf.tensor2d(labels, shape, 'int32'),
    host: { inputIds, labels }
  }
  const roleOf = new Map([...trained].map(([role, v]) => [v.name, role]))
  let reported: tf.Scalar | null = null
  try {
    const { value, grads: computed } = tf.variableGrads(() => {
      if (!objective) return tf.mul(model.loss(batch, opts), weight) as tf.Scalar
      const terms = distillTerms(model, teacher!, batch, opts, objective.alpha, objective.temperature)
      reported = tf.keep(tf.mul(terms.loss, weight) as tf.Scalar)
      return tf.mul(terms.objective, weight) as tf.Scalar
    }, [...trained.values()])
    onGradients?.()
    try {
      const entries = Object.entries(computed)
      const values = await Promise.all(entries.map(([, g]) => g.data() as Promise<Float32Array>))
      const grads = entries.map(([name], i) => {
        const role = roleOf.get(name)
        if (!role) throw new Error(`a gradient for ${name}, which is not a trained variable`)
        return { role, data: values[i]! }
      })
      const loss = (await ((reported as tf.Scalar | null) ?? value).data())[0]!
      return { loss, grads }
    } finally {
      tf.dispose([value, ...Object.values(computed), ...(reported ? [reported] : [])])
    }
  } finally {
    tf.dispose([batch.inputIds, batch.labels!])
  }
}
