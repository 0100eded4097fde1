// BERT masking on plain Int32Arrays (no tensors): seeded, never touches protected (special) tokens.
import { IGNORE_INDEX } from './config'
import { Rng } from './rng'

export interface MaskingOptions {
  maskId: number
  vocabSize: number
  /** Ids never selected and never drawn as random replacements (pad, cls, sep, mask, domain prompts). */
  protectedIds: Iterable<number>
  seed: number
  /** Share of maskable positions selected (default 0.15). */
  maskProb?: number
  /** Of the selected: share replaced by maskId (0.8) and by a random token (0.1); the rest kept. */
  maskTokenProb?: number
  randomTokenProb?: number
  /** Sequence length, to guarantee at least one selected position per sequence (default: whole array). */
  seqLen?: number
}

export interface MaskedBatch {
  inputIds: Int32Array
  /** Original id at selected positions, IGNORE_INDEX elsewhere. */
  labels: Int32Array
}

export function maskTokens(ids: Int32Array, opts: MaskingOptions): MaskedBatch {
  const { maskId, vocabSize, seed } = opts
  const p = opts.maskProb ?? 0.15
  const pMask = opts.maskTokenProb ?? 0.8
  const pRand = opts.randomTokenProb ?? 0.1
  const seqLen = opts.seqLen ?? ids.length
  if (ids.length % seqLen !== 0) throw new Error(`maskTokens: ${ids.length} ids are not a multiple of seqLen ${seqLen}`)
  const prot = new Set(opts.protectedIds)
  prot.add(maskId)
  if (prot.size >= vocabSize) throw new Error('maskTokens: every vocabulary id is protected')
  const rng = new Rng(seed)
  const inputIds = Int32Array.from(ids)
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX)

  const select = (i: number): void => {
    labels[i] = ids[i]!
    const r = rng.next()
    if (r < pMask) inputIds[i] = maskId
    else if (r < pMask + pRand) {
      let t: number
      do t = rng.int(vocabSize)
      while (prot.has(t))
      inputIds[i] = t
    }
  }

  for (let start = 0; start < ids.length; start += seqLen) {
    let selected = 0
    const candidates: number[] = []
    for (let i = start; i < start + seqLen; i++) {
      if (prot.has(ids[i]!)) continue
      candidates.push(i)
      if (rng.next() < p) {
        select(i)
        selected++
      }
    }
    // A sequence without any target would contribute nothing; give it one (short sequences only).
    if (selected === 0 && candidates.length > 0) select(candidates[rng.int(candidates.length)]!)
  }
  return { inputIds, labels }
}
