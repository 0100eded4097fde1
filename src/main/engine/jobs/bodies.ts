// What each kind of job does, in the job worker. The CLI's commands start these same jobs (through the
// contract, in-process), so a job started from the workbench and its command give the same result. Bodies report progress through `ctx.progress`, which throws JobCancelledError once the host asked
// the job to stop: a cancel takes effect at the next progress point.
import path from 'node:path'
import type { JobKind } from '../../../shared/contract'
import { lifelongIntervals, type Interval } from '../../../shared/stats'
import { exists } from '../checkpoint/atomic'
import { isCheckpointDir, loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint'
import { restoreModel } from '../checkpoint/restore'
import { readTextFile, type CorpusSource, type PromptMode } from '../data'
import { evaluateRunDownstream, finetuneCheckpoint } from '../downstream'
import { exportHuggingFace, importHuggingFace } from '../export/huggingface'
import { growModel, growOptimizerState, growthStateToJson, parseGrowthState, type GrowthMode } from '../growth'
import { preservationCheck } from '../growth/preservation'
import type { ExperimentStore } from '../store/store'
import { addUserDomain, ensureDefaultDomains, loadRunData } from '../training/data'
import { evaluate, evaluationSet } from '../training/evaluate'

export class JobCancelledError extends Error {
  constructor() {
    super('cancelled')
    this.name = 'JobCancelledError'
  }
}

/** A problem with what the user asked (a bad task name, a folder that is not empty): the job fails with it as is. */
export class JobInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JobInputError'
  }
}

export interface JobContext {
  store: ExperimentStore
  dataDir: string
  /** fraction in [0, 1] or null; throws JobCancelledError when the job was cancelled */
  progress(fraction: number | null, message: string): void
  log(message: string): void
}

/** A job's params after the host resolved ids to paths (checkpointPath) and defaults (outDir). */
export type JobBody = (params: Record<string, unknown>, ctx: JobContext) => Promise<Record<string, unknown>>

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)

/** Loss and perplexity of a checkpoint on a domain's validation split or on a text file (`elle eval`). */
export async function evaluateCheckpoint(
  store: ExperimentStore | null,
  dataDir: string,
  o: { checkpoint: string; domain?: string; textPath?: string; prompt?: string; maxSequences?: number },
  progress: (fraction: number, message: string) => void = () => {}
): Promise<{ checkpoint: string; on: string; loss: number; ppl: number; tokens: number; sequences: number; ci: Interval | null }> {
  const checkpoint = await loadCheckpoint(path.resolve(o.checkpoint), { optimizer: false })
  progress(0.2, 'checkpoint loaded')
  const model = restoreModel(checkpoint)
  try {
    const tokenizer = checkpoint.tokenizer
    const seqLen = checkpoint.config.maxLength
    let split: { tokens: Uint32Array | Uint16Array | Int32Array; offsets: Uint32Array; domain: string; split: 'validation' }
    let promptSlot: number | undefined
    let prompt: PromptMode = 'off'
    if (o.domain !== undefined) {
      if (!store) throw new JobInputError('evaluating on a domain needs the experiment store')
      const data = await loadRunData(store, path.resolve(dataDir), [o.domain])
      if (data.tokenizer.hash !== tokenizer.hash) throw new JobInputError(`domain "${o.domain}" is tokenized with a different tokenizer than ${o.checkpoint}`)
      const d = data.domains.get(o.domain)!
      split = { tokens: d.validation.tokens, offsets: d.validation.offsets, domain: o.domain, split: 'validation' }
      promptSlot = d.promptSlot
      prompt = 'own'
    } else {
      const text = readTextFile(path.resolve(o.textPath!)) // names the file if it is empty, binary or not UTF-8
      const ids = tokenizer.encode(text)
      split = { tokens: Uint32Array.from(ids), offsets: Uint32Array.from([0, ids.length]), domain: path.basename(o.textPath!), split: 'validation' }
      if (o.prompt !== undefined && o.prompt !== 'off') {
        const found = store?.findDomain(o.prompt)
        if (!found || found.promptSlot === null) throw new JobInputError(`prompt: unknown domain "${o.prompt}"`)
        promptSlot = found.promptSlot
        prompt = 'own'
      }
    }
    progress(0.4, 'evaluating')
    const inputs = evaluationSet(model, tokenizer, split as never, { seqLen, batchSize: 16, maxSequences: o.maxSequences ?? 512, promptSlot, prompt, seed: 0 })
    if (inputs.length === 0) throw new JobInputError(`the text is too short: it needs at least ${seqLen} tokens for one sequence`)
    const { loss, ppl, tokens, sequences, docLoss, docTokens } = await evaluate(model, inputs, tokenizer.specialIds.pad)
    // the perplexity's 95% bootstrap interval over documents, as validations store it (a one-document text has none)
    const on = o.domain ?? path.resolve(o.textPath!)
    const ci =
      docLoss && docTokens && docLoss.length >= 2
        ? lifelongIntervals({ current: new Map([[on, { loss: docLoss, tokens: docTokens }]]), reference: new Map(), currentDomain: on }).ppl[on]!
        : null
    return { checkpoint: path.resolve(o.checkpoint), on, loss, ppl, tokens, sequences, ci }
  } finally {
    model.dispose()
  }
}

/** Grow a checkpoint into a new folder (`elle grow`). */
export async function growCheckpoint(o: {
  checkpoint: string
  outDir: string
  mode: GrowthMode
  addLayers: number
  addHeads: number
  addFfn?: number
  noise?: number
  globalNoise?: boolean
  seed?: number
  rampSteps?: number
  optimizer?: 'drop' | 'grow'
  overwrite?: boolean
}): Promise<Record<string, unknown>> {
  const outDir = path.resolve(o.outDir)
  if ((await exists(outDir)) && (await isCheckpointDir(outDir)) && o.overwrite !== true) throw new JobInputError(`${outDir} already holds a checkpoint; replace it with overwrite`)
  if (o.mode === 'exact' && ((o.noise ?? 0) > 0 || o.globalNoise === true)) throw new JobInputError('noise and globalNoise apply to mode elle only (exact growth adds no noise)')
  const optimizer = o.optimizer ?? 'drop'
  const ckpt = await loadCheckpoint(path.resolve(o.checkpoint), { optimizer: optimizer === 'grow' })
  const previous = ckpt.state.growth === undefined ? null : parseGrowthState(ckpt.state.growth, ckpt.config)
  const grown = growModel(ckpt.config, ckpt.weights, {
    addLayers: o.addLayers,
    addHeads: o.addHeads,
    addFfn: o.addFfn,
    mode: o.mode,
    noise: o.mode === 'elle' ? o.noise : 0,
    globalNoise: o.globalNoise,
    seed: o.seed ?? 1,
    state: previous,
    rampSteps: o.rampSteps
  })
  const optimizerState = optimizer === 'grow' && ckpt.optimizerState ? growOptimizerState(ckpt.optimizerState, grown.maps) : undefined
  const written = await saveCheckpoint(outDir, {
    config: grown.config,
    weights: grown.weights,
    optimizerState,
    tokenizer: ckpt.tokenizer,
    state: { ...ckpt.state, growth: growthStateToJson(grown.state) },
    // the state's method tensors travel with it, as the state did when they were base64 inside it
    pluginTensors: ckpt.pluginTensors,
    training: ckpt.training,
    experiment: ckpt.experiment
  })
  // the grown checkpoint as written (growth masks included) against the one it grew from
  const written2 = await loadCheckpoint(written.path, { optimizer: false })
  const agreement = preservationCheck(ckpt, written2, Object.values(ckpt.tokenizer.specialIds))
  return {
    from: path.resolve(o.checkpoint),
    to: written.path,
    mode: o.mode,
    before: ckpt.config,
    after: grown.config,
    hiddenScheme: grown.maps.hiddenScheme,
    depthInit: grown.maps.depthInit,
    layerSources: grown.maps.layerSources,
    ramp: grown.state.ramp,
    optimizer: optimizerState ? 'grown' : 'dropped',
    sha256: written.sha256,
    agreement
  }
}

/** Progress of k seeds of `updates` fine-tuning updates each, as one fraction. */
const seedFraction = (seedIndex: number, seeds: number, update: number, updates: number): number => (seedIndex + update / updates) / seeds

export const JOB_BODIES: Record<JobKind, JobBody> = {
  evaluate: async (p, ctx) =>
    evaluateCheckpoint(
      ctx.store,
      ctx.dataDir,
      { checkpoint: str(p.checkpointPath)!, domain: str(p.domain), textPath: str(p.textPath), prompt: str(p.prompt), maxSequences: num(p.maxSequences) },
      (f, m) => ctx.progress(f, m)
    ),
  finetune: async (p, ctx) => {
    const report = await finetuneCheckpoint(str(p.checkpointPath)!, {
      dataDir: ctx.dataDir,
      task: str(p.task)!,
      seeds: num(p.seeds),
      prompt: str(p.prompt) as 'own' | 'off' | 'wrong' | undefined,
      settings: num(p.steps) === undefined ? undefined : { steps: num(p.steps) },
      store: ctx.store,
      log: ctx.log,
      onUpdate: (i, k, u, n) => ctx.progress(seedFraction(i, k, u, n), `seed ${i + 1}/${k}: update ${u}/${n}`)
    })
    return { ...report }
  },
  forgetting: async (p, ctx) => {
    // the number of cells is known only as the matrix is filled: report the current cell's seeds
    const report = await evaluateRunDownstream(ctx.store, num(p.runId)!, {
      dataDir: ctx.dataDir,
      seeds: num(p.seeds),
      prompt: str(p.prompt) as 'own' | 'off' | 'wrong' | undefined,
      forward: p.backwardOnly !== true,
      settings: num(p.steps) === undefined ? undefined : { steps: num(p.steps) },
      log: (m) => {
        ctx.log(m)
        ctx.progress(null, m)
      },
      onUpdate: (i, k, u, n) => ctx.progress(null, `seed ${i + 1}/${k}: update ${u}/${n}`)
    })
    return { ...report }
  },
  grow: async (p, ctx) => {
    ctx.progress(0, 'growing, then comparing logits before and after')
    return growCheckpoint({ ...(p as Parameters<typeof growCheckpoint>[0]), checkpoint: str(p.checkpointPath)!, outDir: str(p.outDir)! })
  },
  export: async (p, ctx) => {
    ctx.progress(0, 'exporting')
    return { ...(await exportHuggingFace(str(p.checkpointPath)!, str(p.outDir)!, { overwrite: p.overwrite === true })) }
  },
  import: async (p, ctx) => {
    ctx.progress(0, 'importing')
    return { ...(await importHuggingFace(str(p.path)!, str(p.outDir)!, { overwrite: p.overwrite === true })) }
  },
  'domain.add': async (p, ctx) => {
    ctx.progress(null, 'reading and tokenizing the corpus')
    const source: CorpusSource = {
      paths: p.paths as string[],
      format: (str(p.format) ?? 'auto') as CorpusSource['format'],
      textField: str(p.textField) ?? 'text',
      maxFileBytes: num(p.maxFileBytes),
      maxDomainBytes: num(p.maxDomainBytes)
    }
    return { ...(await addUserDomain(ctx.store, ctx.dataDir, { name: str(p.name)!, source, description: str(p.description) })) }
  },
  'stream.prepare': async (_p, ctx) => {
    const manifest = await ensureDefaultDomains(ctx.store, ctx.dataDir, (m) => ctx.progress(null, m))
    return { domains: manifest.domains.map((d) => d.name) }
  }
}
