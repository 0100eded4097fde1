// Downstream evaluation of checkpoints: one checkpoint on one task over k seeds (`elle finetune
// CHECKPOINT --task NAME`), and every end-of-stage checkpoint of a run on the tasks of the domains seen
// so far, giving the forgetting matrix R[i][j] with backward and forward transfer (`elle finetune --run`).
// Bad input is refused before anything is trained or stored.
import path from 'node:path'
import { loadCheckpoint, type LoadedCheckpoint } from '../checkpoint/checkpoint'
import { restoreModel } from '../checkpoint/restore'
import { ensureDefaultStream, loadTokenizer, type StreamManifest, type Tokenizer } from '../data'
import { TransformerModel } from '../model/model'
import { settingsKey, type EvaluationInput, type ExperimentStore } from '../store/store'
import { parseRunConfig, type RunConfig } from '../training/config'
import { defaultStreamDir } from '../training/data'
import { modelConfigFor } from '../training/run'
import { experimentStages, findStoredCheckpoint, seenDomains, slotLookup, stageEndCheckpoints, wrongPromptSlot } from './checkpoints'
import { finetuneOnce, majorityBaseline, resolveSettings, type FinetuneOutcome, type FinetuneSettings, type SeedScore } from './finetune'
import { meanStd, transferOf, type MeanStd, type Transfer } from './metrics'
import { DownstreamError, findTask, primaryTask, type DownstreamTask } from './tasks'

export type PromptChoice = 'own' | 'off' | 'wrong'
export const PROMPT_CHOICES: readonly PromptChoice[] = ['own', 'off', 'wrong']
export const DEFAULT_SEEDS = 3
export const MAX_SEEDS = 100

/** The metrics stored per seed; the ablations and the initial model get a suffix (see metricName). */
export type DownstreamMetric = 'accuracy' | 'macro_f1'
export const METRICS: readonly DownstreamMetric[] = ['accuracy', 'macro_f1']

/**
 * The evaluations-table metric name: `accuracy` / `macro_f1` with the domain's own prompt,
 * `…/no-prompt` and `…/wrong-prompt` for the ablations, `…/init` (before them) for the run's
 * initial, untrained model (the FWT baseline, stored without a checkpoint id).
 */
export function metricName(metric: DownstreamMetric, prompt: PromptChoice, init = false): string {
  return `${metric}${init ? '/init' : ''}${prompt === 'off' ? '/no-prompt' : prompt === 'wrong' ? '/wrong-prompt' : ''}`
}

export function seedList(seeds: number | undefined): number[] {
  const k = seeds ?? DEFAULT_SEEDS
  if (!Number.isInteger(k) || k < 1 || k > MAX_SEEDS) throw new DownstreamError('BAD_OPTION', `seeds must be an integer from 1 to ${MAX_SEEDS}, got ${k}`)
  return Array.from({ length: k }, (_, i) => i)
}

function checkPrompt(prompt: string): PromptChoice {
  if (!(PROMPT_CHOICES as readonly string[]).includes(prompt)) throw new DownstreamError('BAD_OPTION', `prompt must be one of ${PROMPT_CHOICES.join(', ')}, got "${prompt}"`)
  return prompt as PromptChoice
}

function checkSettings(settings: Partial<FinetuneSettings> | undefined): FinetuneSettings {
  try {
    return resolveSettings(settings)
  } catch (e) {
    throw new DownstreamError('BAD_OPTION', (e as Error).message)
  }
}

function checkTokenizer(tokenizer: Tokenizer, manifest: StreamManifest, what: string): void {
  if (tokenizer.hash !== manifest.tokenizer.hash) {
    throw new DownstreamError('TOKENIZER_MISMATCH', `${what} uses a different tokenizer than the default stream's tasks (${manifest.tokenizer.file})`)
  }
}

/** The prompt token a task's inputs carry under `prompt`, or null. */
function promptIdFor(task: DownstreamTask, prompt: PromptChoice, tokenizer: Tokenizer, order: readonly string[] | null, slotOf: (name: string) => number | null): number | null {
  if (prompt === 'off') return null
  if (prompt === 'own') return tokenizer.promptId(task.promptSlot)
  return tokenizer.promptId(wrongPromptSlot(task.domain, task.promptSlot, order, slotOf, tokenizer.promptSlots))
}

function scoreRows(
  runId: number,
  checkpointId: number | null,
  task: DownstreamTask,
  prompt: PromptChoice,
  init: boolean,
  settings: FinetuneSettings,
  scores: readonly SeedScore[]
): EvaluationInput[] {
  const stored = { ...settings }
  return scores.flatMap((s) => [
    { runId, checkpointId, task: task.name, domain: task.domain, metric: metricName('accuracy', prompt, init), value: s.accuracy, seed: s.seed, settings: stored },
    { runId, checkpointId, task: task.name, domain: task.domain, metric: metricName('macro_f1', prompt, init), value: s.macroF1, seed: s.seed, settings: stored }
  ])
}

const fmt = (x: number): string => x.toFixed(3)

// ------------------------------------------------------------------------------------------------
// One checkpoint, one task

export interface FinetuneOptions {
  /** The workbench data directory (the default stream and its tasks live under default-stream/). */
  dataDir: string
  /** Task name, e.g. `press-genre`. */
  task: string
  /** Number of seeds k (seeds 0..k-1). Default 3. */
  seeds?: number
  prompt?: PromptChoice
  settings?: Partial<FinetuneSettings>
  /** Where rows go when the checkpoint belongs to one of its runs; also resolves user domains' prompts. */
  store?: ExperimentStore | null
  log?: (message: string) => void
  /** After each fine-tuning update: the seed's index among the seeds, their count, the update and the updates per seed. */
  onUpdate?: (seedIndex: number, seeds: number, update: number, updates: number) => void
}

export interface FinetuneReport {
  checkpoint: string
  task: string
  domain: string
  kind: DownstreamTask['kind']
  prompt: PromptChoice
  /** The prompt token's text (`<p0>`), or null without a prompt. */
  promptToken: string | null
  /** Null when the checkpoint records no stream (the seen-domain check could not be made). */
  seenDomains: string[] | null
  settings: FinetuneSettings & { maxLength: number }
  seeds: Array<SeedScore & { scored: number; truncatedWords: number }>
  accuracy: MeanStd
  macroF1: MeanStd
  /** Always predicting the training split's most frequent label. */
  majority: { label: string; accuracy: number; macroF1: number }
  /** Where the per-seed rows were stored, or null when the checkpoint belongs to no run in the store. */
  stored: { runId: number; checkpointId: number; rows: number } | null
}

/** Fine-tune a checkpoint on a task with k seeds; stores every seed's scores when the checkpoint is a run's. */
export async function finetuneCheckpoint(checkpointDir: string, opts: FinetuneOptions): Promise<FinetuneReport> {
  const seeds = seedList(opts.seeds)
  const prompt = checkPrompt(opts.prompt ?? 'own')
  const settings = checkSettings(opts.settings)
  const log = opts.log ?? ((): void => {})
  const manifest = await ensureDefaultStream(defaultStreamDir(opts.dataDir), { log })
  const task = findTask(manifest, opts.task)
  const dir = path.resolve(checkpointDir)
  const checkpoint = await loadCheckpoint(dir, { optimizer: false })
  checkTokenizer(checkpoint.tokenizer, manifest, dir)
  const seen = seenDomains(checkpoint)
  if (seen !== null && !seen.includes(task.domain)) {
    throw new DownstreamError(
      'UNSEEN_DOMAIN',
      `task "${task.name}" is on domain "${task.domain}", which checkpoint ${dir} has not seen (it has seen: ${seen.join(', ') || 'no domain yet'})`
    )
  }
  const store = opts.store ?? null
  const stored = store ? findStoredCheckpoint(store, dir, checkpoint.training.runId) : null
  const order = experimentStages(checkpoint.experiment)?.map((s) => s.domain) ?? null
  const promptId = promptIdFor(task, prompt, checkpoint.tokenizer, order, slotLookup(manifest, store))

  const outcomes = runSeeds(
    checkpoint,
    task,
    promptId,
    seeds,
    settings,
    (o) => log(`${task.name} seed ${o.seed}: accuracy ${fmt(o.accuracy)}  macro-F1 ${fmt(o.macroF1)}  (${o.seconds.toFixed(1)} s)`),
    opts.onUpdate
  )
  let storedInfo: FinetuneReport['stored'] = null
  if (store && stored) {
    const rows = scoreRows(stored.runId, stored.id, task, prompt, false, settings, outcomes)
    store.addEvaluations(rows)
    storedInfo = { runId: stored.runId, checkpointId: stored.id, rows: rows.length }
  }
  return {
    checkpoint: dir,
    task: task.name,
    domain: task.domain,
    kind: task.kind,
    prompt,
    promptToken: promptId === null ? null : (checkpoint.tokenizer.idToToken(promptId) ?? null),
    seenDomains: seen,
    settings: { ...settings, maxLength: Math.min(checkpoint.config.maxLength, settings.maxLength ?? 128) },
    seeds: outcomes.map(({ seed, accuracy, macroF1, trainLoss, seconds, scored, truncatedWords }) => ({ seed, accuracy, macroF1, trainLoss, seconds, scored, truncatedWords })),
    accuracy: meanStd(outcomes.map((o) => o.accuracy)),
    macroF1: meanStd(outcomes.map((o) => o.macroF1)),
    majority: majorityBaseline(task, outcomes[0]!.confusion),
    stored: storedInfo
  }
}

/**
 * Fine-tune a freshly initialised model (the config's initial shape and seed, no pre-training) on a task,
 * without a prompt: the floor that pre-training has to beat. Nothing is stored (there is no checkpoint).
 */
export async function finetuneUntrained(
  config: RunConfig,
  opts: Omit<FinetuneOptions, 'prompt' | 'store'>
): Promise<{ task: string; accuracy: MeanStd; macroF1: MeanStd; seeds: SeedScore[]; majority: FinetuneReport['majority'] }> {
  const seeds = seedList(opts.seeds)
  const settings = checkSettings(opts.settings)
  const log = opts.log ?? ((): void => {})
  const manifest = await ensureDefaultStream(defaultStreamDir(opts.dataDir), { log })
  const task = findTask(manifest, opts.task)
  const tokenizer = loadTokenizer(manifest.tokenizer.file)
  const outcomes = runSeeds(initialModel(config, tokenizer), task, null, seeds, settings, (o) =>
    log(`untrained on ${task.name} seed ${o.seed}: accuracy ${fmt(o.accuracy)}  macro-F1 ${fmt(o.macroF1)}`)
  )
  return {
    task: task.name,
    accuracy: meanStd(outcomes.map((o) => o.accuracy)),
    macroF1: meanStd(outcomes.map((o) => o.macroF1)),
    seeds: outcomes.map(({ seed, accuracy, macroF1, trainLoss, seconds }) => ({ seed, accuracy, macroF1, trainLoss, seconds })),
    majority: majorityBaseline(task, outcomes[0]!.confusion)
  }
}

/** A run's step-0 model (its config's initial shape and seed, as the run itself starts), fresh per seed. */
function initialModel(config: RunConfig, tokenizer: Tokenizer): { make: () => TransformerModel; tokenizer: Tokenizer } {
  const modelConfig = modelConfigFor(config, tokenizer.vocabSize)
  return { make: () => new TransformerModel(modelConfig, { seed: config.training.seed }), tokenizer }
}

function runSeeds(
  source: Pick<LoadedCheckpoint, 'config' | 'weights' | 'state' | 'tokenizer'> | { make: () => TransformerModel; tokenizer: Tokenizer },
  task: DownstreamTask,
  promptId: number | null,
  seeds: readonly number[],
  settings: FinetuneSettings,
  onSeed: (o: FinetuneOutcome) => void,
  onUpdate?: (seedIndex: number, seeds: number, update: number, updates: number) => void
): FinetuneOutcome[] {
  return seeds.map((seed, i) => {
    // A fresh copy of the pre-trained weights for every seed.
    const model = 'make' in source ? source.make() : restoreModel(source)
    try {
      const outcome = finetuneOnce({ model, tokenizer: source.tokenizer, task, promptId, seed, settings, onUpdate: onUpdate && ((u, n) => onUpdate(i, seeds.length, u, n)) })
      onSeed(outcome)
      return outcome
    } finally {
      model.dispose()
    }
  })
}

// ------------------------------------------------------------------------------------------------
// Every end-of-stage checkpoint of a run: the forgetting matrix

export interface RunDownstreamOptions {
  dataDir: string
  seeds?: number
  prompt?: PromptChoice
  settings?: Partial<FinetuneSettings>
  /** Also score R[j-1][j] and the initial model, for forward transfer. Default true. */
  forward?: boolean
  /** Take scores already in the store (same checkpoint, task, metric and seed) instead of fine-tuning again. Default true. */
  reuse?: boolean
  log?: (message: string) => void
  /** After each fine-tuning update (of whichever cell is being scored), as FinetuneOptions.onUpdate. */
  onUpdate?: (seedIndex: number, seeds: number, update: number, updates: number) => void
}

export interface MatrixCell {
  /** Stage whose end checkpoint was fine-tuned (-1: the initial model). */
  stage: number
  /** Stage whose domain's task it was fine-tuned on. */
  taskStage: number
  task: string
  checkpointId: number | null
  seeds: SeedScore[]
  /** Scored before the task's domain was trained on (R[i][i+1] and the initial model): what FWT reads. */
  forward: boolean
  /** Seeds whose scores came from the store. */
  reused: number[]
}

export interface MetricMatrix extends Transfer {
  /** R[i][j]: mean over seeds of the score on stage j's task after stage i; null where not computed. FWT uses only R[j-1][j] taken before domain j was trained on. */
  R: (number | null)[][]
  /** Standard deviation over seeds, same layout. */
  std: (number | null)[][]
  /** The initial (untrained) model's fine-tuned score on each stage's task: FWT's baseline (null for stage 0). */
  baseline: (number | null)[]
}

export interface DownstreamMatrixReport {
  runId: number
  prompt: PromptChoice
  seeds: number[]
  settings: FinetuneSettings
  /** One per configured stage: its domain's task and the checkpoint closing it (null: not reached, or a from-scratch run's later stages). */
  stages: Array<{ index: number; domain: string; task: string | null; seen: string[]; checkpointId: number | null; checkpointPath: string | null; step: number | null }>
  accuracy: MetricMatrix
  macroF1: MetricMatrix
  cells: MatrixCell[]
}

/**
 * Fine-tune the checkpoint that closes each stage of a run on the task of every domain seen so far
 * (R[i][j], j <= i) and, for forward transfer, on the next stage's task (R[i][i+1]) and the run's
 * initial model on every later task (the baseline b_j). Each domain contributes its primary task
 * (classification, else POS). Rows are stored cell by cell, so an interrupted evaluation keeps its work.
 */
export async function evaluateRunDownstream(store: ExperimentStore, runId: number, opts: RunDownstreamOptions): Promise<DownstreamMatrixReport> {
  const seeds = seedList(opts.seeds)
  const prompt = checkPrompt(opts.prompt ?? 'own')
  const settings = checkSettings(opts.settings)
  const forward = opts.forward ?? true
  const reuse = opts.reuse ?? true
  const log = opts.log ?? ((): void => {})
  const run = store.getRun(runId)
  const config = parseRunConfig(store.getExperimentConfig(run.experimentId), `run ${runId} config`)
  const manifest = await ensureDefaultStream(defaultStreamDir(opts.dataDir), { log })
  const tokenizer = loadTokenizer(manifest.tokenizer.file)
  const ends = stageEndCheckpoints(store, runId, config)
  // Columns: the configured stages' domains. Rows: the checkpoint closing each stage (a from-scratch run has one).
  const columns = config.stages.map((s) => s.domain)
  const T = columns.length
  const tasks = columns.map((d) => primaryTask(manifest, d))
  const slotOf = slotLookup(manifest, store)
  if (!ends.some((e) => e.checkpoint)) throw new DownstreamError('NO_STAGES', `run ${runId} has no finished stage with an end-of-stage checkpoint yet`)

  const existing = new Map<string, number>()
  const key = (checkpointId: number | null, task: string, metric: string, seed: number): string => `${checkpointId ?? 'init'}|${task}|${metric}|${seed}`
  // Only scores made with these very settings are reused (older rows without settings never are).
  const wanted = settingsKey({ ...settings })
  if (reuse) for (const e of store.listEvaluations(runId)) if (settingsKey(e.settings) === wanted) existing.set(key(e.checkpointId ?? null, e.task, e.metric, e.seed), e.value)
  const cells: MatrixCell[] = []

  const cell = (stage: number, taskStage: number, checkpointId: number | null, forwardCell: boolean, source: Parameters<typeof runSeeds>[0]): void => {
    const task = tasks[taskStage]
    if (!task) return
    const init = stage < 0
    const known = (seed: number): SeedScore | null => {
      const accuracy = existing.get(key(checkpointId, task.name, metricName('accuracy', prompt, init), seed))
      const macroF1 = existing.get(key(checkpointId, task.name, metricName('macro_f1', prompt, init), seed))
      return accuracy !== undefined && macroF1 !== undefined ? { seed, accuracy, macroF1, trainLoss: NaN, seconds: 0 } : null
    }
    const reused = seeds.filter((s) => known(s) !== null)
    const todo = seeds.filter((s) => known(s) === null)
    const what = init ? 'initial model' : `stage ${stage} (${ends.find((e) => e.stage === stage)!.domain}, step ${ends.find((e) => e.stage === stage)!.endStep})`
    const fresh = runSeeds(
      source,
      task,
      promptIdFor(task, prompt, tokenizer, columns, slotOf),
      todo,
      settings,
      (o) => log(`${what} on ${task.name}, seed ${o.seed}: accuracy ${fmt(o.accuracy)}  macro-F1 ${fmt(o.macroF1)}  (${o.seconds.toFixed(1)} s)`),
      opts.onUpdate
    )
    if (fresh.length > 0) {
      const rows = scoreRows(runId, checkpointId, task, prompt, init, settings, fresh)
      store.addEvaluations(rows)
      // A domain that recurs in the stream is the same cell: later columns reuse it.
      for (const r of rows) existing.set(key(checkpointId, r.task, r.metric, r.seed), r.value)
    }
    const scores = seeds.map((s) => fresh.find((o) => o.seed === s) ?? known(s)!)
    cells.push({
      stage,
      taskStage,
      task: task.name,
      checkpointId,
      forward: forwardCell,
      seeds: scores.map(({ seed, accuracy, macroF1, trainLoss, seconds }) => ({ seed, accuracy, macroF1, trainLoss, seconds })),
      reused
    })
  }

  for (const end of ends) {
    if (!end.checkpoint) continue
    const checkpoint = await loadCheckpoint(end.checkpoint.path, { optimizer: false })
    checkTokenizer(checkpoint.tokenizer, manifest, end.checkpoint.path)
    for (let j = 0; j < T; j++) {
      const seen = end.seen.includes(columns[j]!)
      // Unseen domains are scored only for forward transfer: the next stage's, before it arrives.
      if (seen || (forward && j === end.stage + 1)) cell(end.stage, j, end.checkpoint.id, !seen, checkpoint)
    }
  }
  if (forward) {
    // The run's step-0 model (same config and seed as the run's own start), fine-tuned the same way.
    const source = initialModel(config, tokenizer)
    for (let j = 1; j < T; j++) if (cells.some((c) => c.forward && c.taskStage === j)) cell(-1, j, null, true, source)
  }

  const matrix = (pick: (s: SeedScore) => number): MetricMatrix => {
    const empty = (): (number | null)[][] => Array.from({ length: T }, () => new Array<number | null>(T).fill(null))
    const R = empty()
    const std = empty()
    // FWT reads only scores taken before the task's domain was trained on.
    const before = empty()
    const baseline = new Array<number | null>(T).fill(null)
    for (const c of cells) {
      const m = meanStd(c.seeds.map(pick))
      if (c.stage < 0) baseline[c.taskStage] = m.mean
      else {
        R[c.stage]![c.taskStage] = m.mean
        std[c.stage]![c.taskStage] = m.std
        if (c.forward) before[c.stage]![c.taskStage] = m.mean
      }
    }
    return { R, std, baseline, ...transferOf(R, baseline), fwt: transferOf(before, baseline).fwt }
  }
  return {
    runId,
    prompt,
    seeds,
    settings,
    stages: columns.map((domain, i) => {
      const end = ends.find((e) => e.stage === i)
      return {
        index: i,
        domain,
        task: tasks[i]?.name ?? null,
        seen: end?.seen ?? [],
        checkpointId: end?.checkpoint?.id ?? null,
        checkpointPath: end?.checkpoint?.path ?? null,
        step: end?.checkpoint?.step ?? null
      }
    }),
    accuracy: matrix((s) => s.accuracy),
    macroF1: matrix((s) => s.macroF1),
    cells
  }
}
