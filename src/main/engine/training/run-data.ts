// What a run reads, as the loop hands it to plugins: each domain's training batcher and its endless
// shuffled iterator, its memory (for replay, warm-up, importance and A-GEM), the prompt its samples carry,
// and its fixed validation sequences. Every read position lives in the loop state's `iterators`, so a
// resumed run reads exactly what the uninterrupted one would have.
import { BlockBatcher, type Batch, type EpochIterator, type IteratorState, type PromptMode, type Tokenizer } from '../data'
import type { TransformerModel } from '../model'
import { hashSeed } from '../model/rng'
import type { RunConfig } from './config'
import type { DomainData, RunData } from './data'
import { evaluationSet, type LossInput } from './evaluate'
import { DomainMemory } from './memory'

export class RunDataAccess {
  readonly tokenizer: Tokenizer
  private readonly memories = new Map<string, DomainMemory>()
  private readonly batchers = new Map<string, BlockBatcher>()
  private readonly iterators = new Map<string, EpochIterator>()
  private readonly validationSets = new Map<string, LossInput[]>()

  constructor(
    private readonly config: RunConfig,
    private readonly data: RunData,
    /** the loop state's read positions, updated in place (they are checkpointed with it) */
    private readonly positions: Record<string, IteratorState>
  ) {
    this.tokenizer = data.tokenizer
  }

  domain(name: string): DomainData {
    const d = this.data.domains.get(name)
    if (!d) throw new Error(`domain "${name}" is not loaded for this run`)
    return d
  }

  batcher(name: string): BlockBatcher {
    let b = this.batchers.get(name)
    if (!b) {
      const d = this.domain(name)
      b = new BlockBatcher(d.train, this.tokenizer, {
        style: this.config.model.kind,
        seqLen: this.config.training.seqLen,
        promptSlot: d.promptSlot,
        prompt: this.promptFor(name),
        seed: hashSeed(this.config.training.seed, `data/${name}`)
      })
      this.batchers.set(name, b)
    }
    return b
  }

  /** The prompt a domain's samples carry; "wrong" gives each domain the next stream domain's token. */
  promptFor(name: string): PromptMode {
    const mode = this.config.training.prompts
    if (mode !== 'wrong') return mode
    const order = [...new Set(this.config.stages.map((s) => s.domain))]
    const own = this.domain(name).promptSlot
    const other = order.length > 1 ? this.domain(order[(order.indexOf(name) + 1) % order.length]!).promptSlot : (own + 1) % this.tokenizer.promptSlots
    return { slot: other }
  }

  /** The domain's endless shuffled iterator; its position is part of the checkpointed state. */
  nextBatch(name: string): Batch {
    let it = this.iterators.get(name)
    if (!it) {
      it = this.batcher(name).iterator(this.config.training.batchSize, this.positions[name] ?? { epoch: 0, position: 0 })
      this.iterators.set(name, it)
    }
    const batch = it.next().value
    this.positions[name] = it.position
    return batch
  }

  memory(name: string): DomainMemory {
    let m = this.memories.get(name)
    if (!m) {
      m = new DomainMemory(name, this.batcher(name), this.config.memory, hashSeed(this.config.training.seed, `memory/${name}`))
      this.memories.set(name, m)
    }
    return m
  }

  nextMemoryBatch(name: string): Batch {
    const key = `memory/${name}`
    const { batch, state } = this.memory(name).next(this.config.training.batchSize, this.positions[key] ?? { epoch: 0, position: 0 })
    this.positions[key] = state
    return batch
  }

  /** The fixed validation sequences of a domain (with its prompt, and seeded masks for BERT), built on first use. */
  validationInputs(name: string, model: TransformerModel): LossInput[] {
    let set = this.validationSets.get(name)
    if (!set) {
      const d = this.domain(name)
      const t = this.config.training
      set = evaluationSet(model, this.tokenizer, d.validation, {
        seqLen: t.seqLen,
        // evaluation batches are larger than training ones (no gradients), up to ~2k tokens
        batchSize: Math.max(t.batchSize, Math.floor(2048 / t.seqLen)),
        maxSequences: t.validationSequences,
        minTokens: t.validationTokens,
        promptSlot: d.promptSlot,
        prompt: this.promptFor(name),
        seed: t.seed
      })
      this.validationSets.set(name, set)
    }
    return set
  }
}
