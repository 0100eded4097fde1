// The function-preservation check of a grow: the old and the grown model (with the growth state it was
// written with) run on one fixed batch of random tokens, and their logits are compared. Exact growth must
// agree to float rounding; ELLE's noisy growth shows how far it moved.
import * as tf from '@tensorflow/tfjs'
import type { LoadedCheckpoint } from '../checkpoint/checkpoint'
import { restoreModel } from '../checkpoint/restore'
import type { TransformerModel } from '../model'
import { Rng } from '../util/random'
import { logitAgreement } from './agreement'

export interface PreservationCheck {
  /** what the batch was made of, its size, and the seed of its tokens */
  batch: { source: 'random-tokens'; sequences: number; length: number; seed: number }
  /** max |before - after| over every logit, and the largest |logit| before (its scale) */
  maxAbsDiff: number
  maxAbsLogit: number
  maxRelErr: number
  /** mean KL(before || after) of the next-token distributions */
  kl: number
  /** share of positions whose most likely token is the same before and after */
  argmaxAgreement: number
}

type Restorable = Pick<LoadedCheckpoint, 'config' | 'weights' | 'state'>

const SEQUENCES = 4
const MAX_LENGTH = 64

/** Random ids that are not special tokens (pad, cls, mask, ...), so every position is an ordinary one. */
function randomIds(vocabSize: number, special: ReadonlySet<number>, count: number, seed: number): Int32Array {
  const rng = new Rng(seed)
  const ids = new Int32Array(count)
  for (let i = 0; i < count; i++) {
    let id = rng.int(vocabSize)
    while (special.has(id)) id = rng.int(vocabSize)
    ids[i] = id
  }
  return ids
}

function logitsOf(model: TransformerModel, ids: tf.Tensor2D): Float32Array {
  const out = model.logits(ids)
  try {
    return out.dataSync() as Float32Array
  } finally {
    out.dispose()
  }
}

export function preservationCheck(before: Restorable, after: Restorable, specialIds: Iterable<number>, seed = 0): PreservationCheck {
  const length = Math.min(before.config.maxLength, MAX_LENGTH)
  const special = new Set(specialIds)
  const ids = tf.tensor2d(randomIds(before.config.vocabSize, special, SEQUENCES * length, seed), [SEQUENCES, length], 'int32')
  const m0 = restoreModel(before)
  let m1: TransformerModel | null = null
  try {
    m1 = restoreModel(after)
    const a = logitsOf(m0, ids)
    const b = logitsOf(m1, ids)
    const agreement = logitAgreement(a, b, before.config.vocabSize)
    return {
      batch: { source: 'random-tokens', sequences: SEQUENCES, length, seed },
      maxAbsDiff: agreement.maxAbsErr,
      maxAbsLogit: agreement.maxAbs,
      maxRelErr: agreement.maxRelErr,
      kl: agreement.kl,
      argmaxAgreement: agreement.top1
    }
  } finally {
    ids.dispose()
    m0.dispose()
    m1?.dispose()
  }
}
