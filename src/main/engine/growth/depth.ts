// Depth growth bookkeeping (elle-method.md §4.1): which layers are copied, and where the copies go.
import type { Rng } from '../model/rng'

/** Carried across growth calls (and in checkpoints), as the reference keeps it in the checkpoint args. */
export interface DepthBookkeeping {
  /** "Original id" of each current layer; a copy shares its source's id. */
  layerIds: number[]
  /** Ids not yet copied in the current round. */
  candidates: number[]
}

export interface DepthPlan {
  /** New layer k is a copy of old layer sources[k]. */
  sources: number[]
  /** True for the inserted copies (each sits directly above its source). */
  inserted: boolean[]
  book: DepthBookkeeping
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

export function initialDepthBookkeeping(layers: number): DepthBookkeeping {
  return { layerIds: range(layers), candidates: range(layers) }
}

/**
 * Picks `add` layers to copy, without replacement from the candidates, and inserts each copy right
 * above its source. When the candidates run out mid-call, a new round starts over every original id
 * (the intended logic of FPI_new.py; the released branch raises NameError, §13). When a round ends
 * (no candidates left: every original layer copied once) the ids and candidates reset to the new layers.
 */
export function planDepth(layers: number, add: number, book: DepthBookkeeping, rng: Rng, addLast = false): DepthPlan {
  const ids = [...book.layerIds]
  let cands = [...book.candidates]
  if (ids.length !== layers) throw new Error(`depth bookkeeping lists ${ids.length} layer ids for a ${layers}-layer model`)
  const added: number[] = []
  if (add > 0) {
    let n = add
    while (n > cands.length) {
      added.push(...cands)
      n -= cands.length
      cands = range(Math.max(...ids) + 1)
    }
    const picked = addLast ? cands.slice(cands.length - n) : sample(cands, n, rng)
    cands = cands.filter((c) => !picked.includes(c))
    added.push(...picked)
  }
  const sources: number[] = []
  const inserted: boolean[] = []
  const newIds: number[] = []
  ids.forEach((id, l) => {
    sources.push(l)
    inserted.push(false)
    newIds.push(id)
    for (let i = added.indexOf(id); i >= 0; i = added.indexOf(id)) {
      sources.push(l)
      inserted.push(true)
      newIds.push(id)
      added.splice(i, 1)
    }
  })
  if (added.length > 0) throw new Error(`depth bookkeeping: ids [${added.join(', ')}] match no current layer`)
  const book2 = cands.length === 0 ? initialDepthBookkeeping(sources.length) : { layerIds: newIds, candidates: cands }
  return { sources, inserted, book: book2 }
}

/** random.sample: n distinct items in random order (partial Fisher-Yates). */
function sample(items: number[], n: number, rng: Rng): number[] {
  const a = [...items]
  for (let i = 0; i < n; i++) {
    const k = i + rng.int(a.length - i)
    const t = a[i]!
    a[i] = a[k]!
    a[k] = t
  }
  return a.slice(0, n)
}

/** Throws unless `book` is consistent with a `layers`-layer model. */
export function checkDepthBookkeeping(book: DepthBookkeeping, layers: number): void {
  const { layerIds: ids, candidates: cands } = book
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => Number.isInteger(x) && x >= 0)
  if (!ok(ids) || !ok(cands)) throw new Error('depth bookkeeping: layerIds and candidates must be arrays of non-negative integers')
  if (ids.length !== layers) throw new Error(`depth bookkeeping lists ${ids.length} layer ids for a ${layers}-layer model`)
  const originals = Math.max(...ids) + 1
  if (cands.length === 0 || cands.some((c) => c >= originals) || new Set(cands).size !== cands.length) {
    throw new Error(`depth bookkeeping: candidates [${cands.join(', ')}] must be distinct ids below ${originals}`)
  }
}
