// Memory of a finished domain: a fixed, seeded subset of its training sequences, kept for replay and for
// the function-recovering warm-up (ELLE §5, §7). Sampling is a pure function of (seed, epoch, position),
// so a resumed run draws exactly the same memory batches.
import { unitHash, type Batch, type BlockBatcher, type IteratorState } from '../data'
import type { MemorySettings } from './config'

export class DomainMemory {
  /** block indices of the domain's training split that form the memory */
  readonly blocks: readonly number[]
  private order: number[] = []
  private orderEpoch = -1

  constructor(
    readonly domain: string,
    private readonly batcher: BlockBatcher,
    settings: MemorySettings,
    private readonly seed: number
  ) {
    const total = batcher.numBlocks
    const wanted = settings.tokens !== undefined ? Math.ceil(settings.tokens / batcher.contentLength) : Math.ceil(settings.fraction * total)
    const size = Math.max(1, Math.min(total, wanted))
    const ranked = Array.from({ length: total }, (_, b) => b).sort((a, b) => unitHash(`memory/${domain}/${a}`, seed) - unitHash(`memory/${domain}/${b}`, seed))
    this.blocks = ranked.slice(0, size).sort((a, b) => a - b)
  }

  get tokens(): number {
    return this.blocks.length * this.batcher.contentLength
  }

  private epochOrder(epoch: number): number[] {
    if (epoch !== this.orderEpoch) {
      this.order = [...this.blocks].sort((a, b) => unitHash(`replay/${this.domain}/${epoch}/${a}`, this.seed) - unitHash(`replay/${this.domain}/${epoch}/${b}`, this.seed))
      this.orderEpoch = epoch
    }
    return this.order
  }

  /** The next batch from `state` (reshuffled every pass over the memory) and the state after it. */
  next(batchSize: number, state: IteratorState): { batch: Batch; state: IteratorState } {
    let { epoch, position } = state
    const picked: number[] = []
    while (picked.length < batchSize) {
      const order = this.epochOrder(epoch)
      if (position >= order.length) {
        epoch += 1
        position = 0
        continue
      }
      picked.push(order[position++]!)
    }
    return { batch: this.batcher.batchOf(picked), state: { epoch, position } }
  }
}
