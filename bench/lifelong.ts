// npm run bench:lifelong — every method on the default stream, BERT and GPT, several seeds; then downstream
// fine-tuning of the final checkpoints and the comparison, written to docs/results.md (between this tier's
// markers: the hand-written findings outside them are kept) with SVG plots in docs/img/.
//   --tier short (default): 12 methods × GPT and BERT × 3 seeds at 120/60/10 steps, about an hour of training.
//   --tier long: ELLE, naive, ER, logit-KD, joint and scratch on GPT at 10× the steps (1200/600/100), no downstream.
// Resumable: finished runs are kept in the bench store and skipped; an interrupted one resumes from its
// checkpoint. Several processes may share one --db (say, `--kinds gpt` and `--kinds bert` on two cores): a run
// another process is training is waited for, not started twice; pass --no-report to all but the last.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { compareRuns, HEADLINE_WHY } from '../src/main/engine/compare'
import { curveSvg } from '../src/main/engine/compare/svg'
import { phaseMarkers } from '../src/shared/charts/compare'
import { runColor } from '../src/shared/charts/palette'
import type { CurveChartInput } from '../src/shared/charts/types'
import { finetuneCheckpoint, finetuneUntrained, metricName, primaryTask } from '../src/main/engine/downstream'
import { readStreamManifest } from '../src/main/engine/data'
import { ExperimentStore } from '../src/main/engine/store/store'
import { defaultStreamDir, loadRunData } from '../src/main/engine/training/data'
import { evaluationSet } from '../src/main/engine/training/evaluate'
import { unigramLogProbs, unigramPerplexity } from '../src/main/engine/metrics/unigram'
import { Engine } from '../src/main/engine/engine'
import { defaultDataDir } from '../src/main/engine/paths'
import { parseRunConfig, type RunConfigInput } from '../src/main/engine/training/config'
import { BASELINES, baselineConfig } from '../src/main/engine/training/presets'
import { methodDifferences } from '../src/main/engine/compare'
import { tQuantile975 } from '../src/shared/stats'
import type { ComparedRun, ComputeSaved, RunComparison, RunSummary } from '../src/shared/contract'

const ALL_METHODS = ['elle', 'elle-no-prompt', ...Object.keys(BASELINES)]
const TIERS = {
  // validation at stage ends only (and after each warm-up): at 20,000 tokens per domain it is most of a short run's time
  short: {
    kinds: 'gpt,bert',
    methods: ALL_METHODS.join(','),
    first: 120,
    stage: 60,
    frw: 10,
    validateEvery: 1_000_000,
    db: 'bench-lifelong.sqlite',
    prefix: 'bench',
    downstream: true
  },
  long: {
    kinds: 'gpt',
    methods: 'elle,naive,er,logit-kd,joint,scratch',
    first: 1200,
    stage: 600,
    frw: 100,
    validateEvery: 300,
    db: 'bench-lifelong-long.sqlite',
    prefix: 'bench-long',
    downstream: false
  }
} as const

const { values } = parseArgs({
  options: {
    tier: { type: 'string', default: 'short' },
    kinds: { type: 'string' },
    seeds: { type: 'string', default: '3' },
    /** explicit seeds (e.g. "1,2"), instead of 0..seeds−1: to split one tier over processes */
    'seed-list': { type: 'string' },
    methods: { type: 'string' },
    'first-steps': { type: 'string' },
    'stage-steps': { type: 'string' },
    'frw-steps': { type: 'string' },
    'validate-every': { type: 'string' },
    /** each domain's validation: the fewest spread blocks that reach this many scored target tokens (0: the whole split) */
    'validation-tokens': { type: 'string', default: '20000' },
    'downstream-seeds': { type: 'string', default: '1' },
    'finetune-steps': { type: 'string', default: '60' },
    db: { type: 'string' },
    'data-dir': { type: 'string' },
    out: { type: 'string', default: 'docs/results.md' },
    'skip-downstream': { type: 'boolean', default: false },
    /** train only (another process writes the report) */
    'no-report': { type: 'boolean', default: false }
  }
})
const tierName = values.tier as keyof typeof TIERS
const tier = TIERS[tierName]
if (!tier) throw new Error(`unknown --tier "${values.tier}"; known: ${Object.keys(TIERS).join(', ')}`)
const kinds = (values.kinds ?? tier.kinds).split(',') as Array<'gpt' | 'bert'>
const seeds = values['seed-list'] ? values['seed-list'].split(',').map(Number) : Array.from({ length: Number(values.seeds) }, (_, i) => i)
const methods = (values.methods ?? tier.methods).split(',')
for (const m of methods) if (!ALL_METHODS.includes(m)) throw new Error(`unknown method "${m}"; known: ${ALL_METHODS.join(', ')}`)
const steps = {
  first: Number(values['first-steps'] ?? tier.first),
  stage: Number(values['stage-steps'] ?? tier.stage),
  frw: Number(values['frw-steps'] ?? tier.frw),
  validateEvery: Number(values['validate-every'] ?? tier.validateEvery),
  validationTokens: Number(values['validation-tokens'])
}
const skipDownstream = values['skip-downstream'] || !tier.downstream
const dataDir = values['data-dir'] ?? defaultDataDir()
const dbPath = values.db ?? path.join(dataDir, tier.db)
const STREAM = ['press', 'humanities', 'hobbies', 'learned', 'fiction', 'email']
const GROWTH = [
  { layers: 1, heads: 1 },
  { layers: 0, heads: 1 },
  { layers: 1, heads: 0 },
  { layers: 0, heads: 1 },
  { layers: 1, heads: 0 }
]
/** methods whose efficiency the paper compares ELLE with (lifelong baselines at the initial size), not the final-size references */
const REFERENCES = ['joint', 'scratch']

/** ELLE at bench scale: the demo's recipe on a smaller model and fewer steps. */
function elleConfig(kind: 'gpt' | 'bert', seed: number): RunConfigInput {
  return {
    name: `${tier.prefix}-elle-${kind}-s${seed}`,
    model: { kind, layers: 1, heads: 2, headSize: 16 },
    training: {
      seqLen: 48,
      batchSize: 8,
      lr: 3e-3,
      validateEvery: steps.validateEvery,
      validationSequences: 0,
      validationTokens: steps.validationTokens,
      checkpointEvery: 1000,
      seed
    },
    growth: { mode: 'elle', noise: 0.01, optimizer: 'reset', rampSteps: 20 },
    replay: { ratio: 0.1, weights: 'adaptive' },
    memory: { fraction: 0.1 },
    stages: STREAM.map((domain, i) => (i === 0 ? { domain, steps: steps.first } : { domain, steps: steps.stage, frwSteps: steps.frw, grow: GROWTH[i - 1] }))
  }
}

function configFor(method: string, kind: 'gpt' | 'bert', seed: number): RunConfigInput {
  const elle = elleConfig(kind, seed)
  if (method === 'elle') return elle
  // the prompt ablation of the paper: ELLE pre-trained (and later fine-tuned) without domain prompts
  if (method === 'elle-no-prompt') return { ...elle, name: `${tier.prefix}-elle-no-prompt-${kind}-s${seed}`, training: { ...elle.training, prompts: 'off' } }
  const b = BASELINES[method as keyof typeof BASELINES]
  return { ...baselineConfig(elle, b.method, b.replay === true), name: `${tier.prefix}-${method}-${kind}-s${seed}` }
}

/** The prompt a method's checkpoints are fine-tuned with: their own, except for the run pre-trained without. */
const promptOf = (method: string): 'own' | 'off' => (method === 'elle-no-prompt' ? 'off' : 'own')

const started = Date.now()
const log = (m: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`)
// 'own' queue mode: this process trains the runs it starts, at once (as `elle run` does), whatever other
// processes on the same store are doing; each run is one worker thread, so one process per core.
const engine = await Engine.open({ dbPath, dataDir, backend: { env: process.env.ELLE_BACKEND }, queue: { mode: 'own' } })
const runs = new Map<string, RunSummary>() // key: method/kind/seed
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The finished run of a method, kind and seed: taken from the store, waited for, resumed or trained. */
async function finishedRun(method: string, kind: 'gpt' | 'bert', seed: number): Promise<RunSummary> {
  const config = configFor(method, kind, seed)
  // the engine stores the parsed config (defaults filled in): find the experiment the same way
  const parsed = parseRunConfig(config)
  const experiment = engine.store.ensureExperiment(parsed.name, parsed)
  let announced = false
  for (;;) {
    const existing = engine.store.listRuns().filter((r) => r.experimentId === experiment.id)
    const finished = existing.find((r) => r.status === 'finished')
    if (finished) return finished
    // another process on this store trains it (a dead one's run was marked when the engine opened)
    const elsewhere = existing.find((r) => r.status === 'running' && !engine.host.has(r.id))
    if (elsewhere) {
      if (!announced) log(`${config.name}: run ${elsewhere.id} trains in another process; waiting`)
      announced = true
      await sleep(10_000)
      continue
    }
    const stopped = existing.find((r) => r.status !== 'running' && engine.store.listCheckpoints(r.id).length > 0)
    let run = stopped ? engine.resumeRun(stopped.id) : engine.startRun(config, { fresh: true })
    log(`${config.name}: run ${run.id}${stopped ? ' (resumed)' : ''}`)
    run = await engine.host.waitFor(run.id)
    if (run.status !== 'finished') throw new Error(`${config.name} ${run.status}: ${run.error}`)
    return run
  }
}

const total = kinds.length * seeds.length * methods.length
let done = 0
for (const kind of kinds) {
  for (const seed of seeds) {
    for (const method of methods) {
      const t0 = Date.now()
      runs.set(`${method}/${kind}/${seed}`, await finishedRun(method, kind, seed))
      done++
      if (Date.now() - t0 > 1000) log(`${done}/${total} runs done; about ${((((Date.now() - started) / done) * (total - done)) / 60000).toFixed(0)} min left at this pace`)
    }
  }
}
log('all runs finished')
// Downstream: the final checkpoint of every run, fine-tuned on each domain's primary task with the run's
// prompt (k seeds), and ELLE's also without a prompt for the prompt ablation. (The full per-stage
// forgetting matrix is `elle finetune --run ID`; it is too slow for every run of the benchmark.)
interface DownstreamScores {
  accuracy: number | null
  macroF1: number | null
  /** per task, in stream order */
  tasks: Array<{ accuracy: number; macroF1: number }>
}
const downstream = new Map<string, DownstreamScores>()
const avg = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length
const summarize = (tasks: DownstreamScores['tasks']): DownstreamScores => ({ accuracy: avg(tasks.map((t) => t.accuracy)), macroF1: avg(tasks.map((t) => t.macroF1)), tasks })
let taskNames: string[] = []
/** Majority-label scores per task (the trivial floor). */
const majority = new Map<string, { accuracy: number; macroF1: number }>()
if (!skipDownstream) {
  const manifest = readStreamManifest(defaultStreamDir(dataDir))
  if (!manifest) throw new Error(`the default stream is not prepared in ${dataDir}`)
  const tasks = STREAM.map((d) => primaryTask(manifest, d)!.name)
  taskNames = tasks
  const settings = { steps: Number(values['finetune-steps']) }
  const seedCount = Number(values['downstream-seeds'])
  // The floor pre-training has to beat: the same fine-tuning from an untrained model of the baselines'
  // size (each pre-training seed's initial weights). No checkpoint, so cached in a file beside the store.
  const cacheFile = `${dbPath}.untrained.json`
  type Cache = Record<string, { accuracy: number; macroF1: number; majority: { accuracy: number; macroF1: number } }>
  const readCache = (): Cache => (fs.existsSync(cacheFile) ? (JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as Cache) : {})
  let cache = readCache()
  for (const kind of kinds) {
    for (const seed of seeds) {
      const perTask: DownstreamScores['tasks'] = []
      for (const task of tasks) {
        const key = `${kind}/${seed}/${task}/steps${settings.steps}/seeds${seedCount}`
        if (!cache[key]) {
          log(`downstream untrained ${kind} s${seed} ${task}`)
          const r = await finetuneUntrained(parseRunConfig(elleConfig(kind, seed)), { dataDir, task, seeds: seedCount, settings })
          // another process on this store may have added entries meanwhile: merge, and replace the file whole
          cache = { ...readCache(), [key]: { accuracy: r.accuracy.mean, macroF1: r.macroF1.mean, majority: { accuracy: r.majority.accuracy, macroF1: r.majority.macroF1 } } }
          fs.writeFileSync(`${cacheFile}.${process.pid}`, JSON.stringify(cache, null, 1))
          fs.renameSync(`${cacheFile}.${process.pid}`, cacheFile)
        }
        const scores = cache[key]!
        perTask.push({ accuracy: scores.accuracy, macroF1: scores.macroF1 })
        majority.set(task, scores.majority)
      }
      downstream.set(`untrained/${kind}/${seed}/off`, summarize(perTask))
    }
  }
  const store = ExperimentStore.open(dbPath)
  for (const [key, run] of runs) {
    const method = key.split('/')[0]!
    const checkpoint = store.listCheckpoints(run.id).at(-1)!
    for (const prompt of method === 'elle' ? (['own', 'off'] as const) : ([promptOf(method)] as const)) {
      log(`downstream ${key} (${prompt})`)
      const perTask: DownstreamScores['tasks'] = []
      for (const task of tasks) {
        // Scores an interrupted benchmark already stored for this checkpoint are taken, not recomputed.
        const stored = (metric: 'accuracy' | 'macro_f1') =>
          store
            .listEvaluations(run.id)
            .filter(
              (e) => e.checkpointId === checkpoint.id && e.task === task && e.metric === metricName(metric, prompt) && e.seed < seedCount && e.settings?.steps === settings.steps
            )
        if (stored('accuracy').length < seedCount || stored('macro_f1').length < seedCount) {
          await finetuneCheckpoint(checkpoint.path, { dataDir, task, seeds: seedCount, prompt, store, settings })
        }
        perTask.push({ accuracy: avg(stored('accuracy').map((e) => e.value)), macroF1: avg(stored('macro_f1').map((e) => e.value)) })
      }
      downstream.set(`${key}/${prompt}`, summarize(perTask))
    }
  }
  store.close()
}

if (values['no-report']) {
  await engine.close()
  process.exit(0)
}

// One comparison per kind over every method and seed. The ELLE ablation runs are ELLE runs to the comparison
// (their method is elle): they are labelled by their bench method so each method pairs with itself across seeds.
const benchMethodOf = new Map<number, string>()
for (const [key, run] of runs) benchMethodOf.set(run.id, key.split('/')[0]!)
const comparisons = new Map<string, RunComparison>()
for (const kind of kinds) {
  const ids = seeds.flatMap((seed) => methods.map((m) => runs.get(`${m}/${kind}/${seed}`)!.id))
  const c = compareRuns(engine.store, ids)
  const relabelled = c.runs.map((r) => ({ ...r, method: benchMethodOf.get(r.id) ?? r.method }))
  comparisons.set(kind, { ...c, runs: relabelled, differences: methodDifferences(relabelled) })
}

// The unigram floor of every domain on the evaluated target tokens (each seed's set: BERT's masks follow the seed).
const data = await loadRunData(engine.store, dataDir, STREAM)
const floors = new Map<string, number>() // kind/domain → mean over seeds
for (const kind of kinds) {
  for (const domain of STREAM) {
    const d = data.domains.get(domain)!
    const logp = unigramLogProbs(d.train.tokens, data.tokenizer.vocabSize)
    const perSeed = seeds.map((seed) => {
      const t = parseRunConfig(elleConfig(kind, seed)).training
      const set = evaluationSet({ config: { kind, vocabSize: data.tokenizer.vocabSize } }, data.tokenizer, d.validation, {
        seqLen: t.seqLen,
        batchSize: 64,
        minTokens: t.validationTokens,
        promptSlot: d.promptSlot,
        prompt: 'own',
        seed: t.seed
      })
      return unigramPerplexity(logp, Int32Array.from(set.flatMap((i) => [...i.scored!.targets])))
    })
    floors.set(`${kind}/${domain}`, perSeed.reduce((a, b) => a + b, 0) / perSeed.length)
  }
}
await engine.close()

// ---- the report -----------------------------------------------------------------------------------------
const finite = (xs: ReadonlyArray<number | null | undefined>): number[] => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
const meanOf = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const sdOf = (xs: readonly number[]): number => Math.sqrt(xs.reduce((a, b) => a + (b - meanOf(xs)) ** 2, 0) / (xs.length - 1))
/** mean with its 95% t interval over seeds: "123.4 [110.2, 136.6]" */
const ci = (raw: ReadonlyArray<number | null | undefined>, digits = 1): string => {
  const xs = finite(raw)
  if (xs.length === 0) return '–'
  const m = meanOf(xs)
  if (xs.length < 2) return `${m.toFixed(digits)} (1 seed)`
  const half = (tQuantile975(xs.length - 1) * sdOf(xs)) / Math.sqrt(xs.length)
  return `${m.toFixed(digits)} [${(m - half).toFixed(digits)}, ${(m + half).toFixed(digits)}]`
}
/** mean ± standard deviation over seeds */
const pm = (raw: ReadonlyArray<number | null | undefined>, digits = 1): string => {
  const xs = finite(raw)
  if (xs.length === 0) return '–'
  return xs.length < 2 ? xs[0]!.toFixed(digits) : `${meanOf(xs).toFixed(digits)} ± ${sdOf(xs).toFixed(digits)}`
}
const runOf = (kind: string, method: string, seed: number): ComparedRun => {
  const id = runs.get(`${method}/${kind}/${seed}`)!.id
  return comparisons.get(kind)!.runs.find((r) => r.id === id)!
}
const over = <T>(kind: string, method: string, f: (r: ComparedRun) => T): T[] => seeds.map((s) => f(runOf(kind, method, s)))
const savedFor = (kind: string, method: string, seed: number): ComputeSaved | undefined => {
  const c = comparisons.get(kind)!
  const elle = runOf(kind, 'elle', seed).id
  const other = runOf(kind, method, seed).id
  return c.computeSaved.find((x) => x.elleRunId === elle && x.otherRunId === other)
}
/** ELLE's wall time or FLOPs to reach a method's final AP, in % of the method's, over the seeds where it got there. */
const reachPct = (kind: string, method: string, f: (c: ComputeSaved) => number | null): string => {
  const xs = seeds.map((s) => {
    const c = savedFor(kind, method, s)
    const v = c ? f(c) : null
    return v === null ? null : 100 * v
  })
  const reached = finite(xs).length
  if (reached === 0) return 'not reached'
  const value = reached === 1 ? `${finite(xs)[0]!.toFixed(0)} %` : `${ci(xs, 0)} %`
  return `${value}${reached < xs.length ? ` (${reached}/${xs.length} seeds)` : ''}`
}
const shares = [...comparisons.values()].flatMap((c) => finite(c.runs.map((r) => r.evaluation.evalShare)))
const sortedShares = [...shares].sort((a, b) => a - b)
const trainingWallS = [...comparisons.values()].reduce((n, c) => n + c.runs.reduce((m, r) => m + r.totals.wallS, 0), 0)
const evalS = [...comparisons.values()].reduce((n, c) => n + c.runs.reduce((m, r) => m + r.evaluation.evalS, 0), 0)
const command = [
  'npm run bench:lifelong --',
  `--tier ${tierName}`,
  `--kinds ${kinds.join(',')}`,
  values['seed-list'] ? `--seed-list ${seeds.join(',')}` : `--seeds ${seeds.length}`,
  `--methods ${methods.join(',')}`,
  `--first-steps ${steps.first} --stage-steps ${steps.stage} --frw-steps ${steps.frw}`,
  `--validate-every ${steps.validateEvery} --validation-tokens ${steps.validationTokens}`,
  skipDownstream ? '--skip-downstream' : `--downstream-seeds ${values['downstream-seeds']} --finetune-steps ${values['finetune-steps']}`
].join(' ')
const load = os.loadavg()

const imgDir = path.join(path.dirname(values.out!), 'img')
fs.mkdirSync(imgDir, { recursive: true })
const L: string[] = []
const title = tierName === 'short' ? 'Tier 1: the short benchmark' : 'Tier 2: the long benchmark (about 10× the steps)'
L.push(`## ${title}`, '')
L.push(
  `Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${methods.length} methods × ${kinds.length} model kind${kinds.length > 1 ? 's' : ''} × ${seeds.length} seeds (${seeds.join(', ')}) on the six default domains (${STREAM.join(', ')}), ` +
    `tiny models (1 layer, 2 heads of 16 at the start; ELLE, joint and scratch reach 4 layers and 5 heads), sequences of 48, batches of 8, wasm backend (${engine.backend.active}). ` +
    `${steps.first} updates on the first domain, ${steps.stage} per later domain (ELLE: ${steps.frw} of them a function-recovering warm-up after growth; the baselines train those as ordinary updates), ${steps.validateEvery >= Math.max(steps.first, steps.stage) ? 'validation at the end of each stage and of each warm-up (AP curves are interpolated linearly between those points for compute saved)' : `validation every ${steps.validateEvery} updates and at the end of each stage and warm-up`}.`,
  '',
  `**Evaluation.** Each validation scores at least ${steps.validationTokens.toLocaleString('en')} target tokens per seen domain, or the whole validation split where it holds fewer (the fewest blocks, spread evenly over the split and across its documents, that reach it; \`training.validationTokens\`; each kind's per-domain table gives the tokens and documents evaluated: BERT scores only its masked 15 %, so its Brown domains are evaluated whole), the same tokens for every method and for ELLE with and without prompts. ` +
    `Training wall time summed over all runs ${(trainingWallS / 60).toFixed(0)} min, validation ${(evalS / 60).toFixed(0)} min; validation's share of a run's time: median ${(100 * (sortedShares[Math.floor(sortedShares.length / 2)] ?? NaN)).toFixed(0)} %, range ${(100 * (sortedShares[0] ?? NaN)).toFixed(0)}–${(100 * (sortedShares.at(-1) ?? NaN)).toFixed(0)} %. ` +
    `Wall times were measured with the machine's 2 cores shared (load average at the end ${load[0]!.toFixed(1)}, ${load[2]!.toFixed(1)} over 15 min): compare them between methods of this table, not with other machines; FLOPs do not depend on load.`,
  '',
  `**How to read.** Lower AP, AP+ and perplexity are better. Every value is the mean over seeds with its 95% t interval over seeds in brackets. ` +
    `The headline metric is ${HEADLINE_WHY} ` +
    `A difference between two methods is marked significant only when the interval of its paired-by-seed difference excludes zero; otherwise it is "within noise". ` +
    `"Compute saved" follows the paper: the FLOPs (and wall time) ELLE needed to first reach a lifelong baseline's final AP, as a share of the baseline's; joint and from-scratch training are final-size references and are compared separately.`,
  ''
)
for (const kind of kinds) {
  const c = comparisons.get(kind)!
  L.push(`### ${kind.toUpperCase()}`, '')
  L.push('| method | geometric AP | AP | AP+ | FLOPs (×10¹²) | training wall s | validation share | final params |', '|---|---|---|---|---|---|---|---|')
  for (const method of methods) {
    L.push(
      `| ${method} | ${ci(over(kind, method, (r) => r.final.apGeo))} | ${ci(over(kind, method, (r) => r.final.ap))} | ${ci(over(kind, method, (r) => r.final.apPlus))} | ${ci(
        over(kind, method, (r) => r.totals.flops / 1e12),
        2
      )} | ${ci(
        over(kind, method, (r) => r.totals.wallS),
        0
      )} | ${pm(
        over(kind, method, (r) => (r.evaluation.evalShare === null ? null : 100 * r.evaluation.evalShare)),
        0
      )} % | ${pm(
        over(kind, method, (r) => r.totals.params),
        0
      )} |`
    )
  }
  L.push('')
  // ELLE against every other method, paired by seed
  L.push(`ELLE minus each method, paired by seed (negative: ELLE lower, i.e. better):`, '')
  L.push('| method | geometric AP | AP | AP+ |', '|---|---|---|---|')
  for (const method of methods.filter((m) => m !== 'elle')) {
    const cell = (metric: 'apGeo' | 'ap' | 'apPlus'): string => {
      const d = c.differences.find((x) => x.metric === metric && ((x.a === 'elle' && x.b === method) || (x.b === 'elle' && x.a === method)))
      if (!d) return '–'
      const sign = d.a === 'elle' ? 1 : -1
      const [lo, hi] = d.lo === null || d.hi === null ? [null, null] : sign === 1 ? [d.lo, d.hi] : [-d.hi, -d.lo]
      const interval = lo === null ? 'no interval' : `[${lo.toFixed(1)}, ${hi!.toFixed(1)}]`
      return `${(sign * d.mean).toFixed(1)} ${interval}${d.significant ? ' **significant**' : ' within noise'}`
    }
    L.push(`| ${method} | ${cell('apGeo')} | ${cell('ap')} | ${cell('apPlus')} |`)
  }
  L.push('')
  const lifelong = methods.filter((m) => m !== 'elle' && m !== 'elle-no-prompt' && !REFERENCES.includes(m))
  if (lifelong.length > 0) {
    L.push(
      `Compute saved against the lifelong baselines: ELLE's training FLOPs and wall time to first reach the baseline's final AP, as a share of the baseline's total (mean [95% t interval] over the seeds where ELLE reached it):`,
      ''
    )
    L.push('| baseline | its final AP | ELLE FLOPs to reach it | ELLE wall time to reach it |', '|---|---|---|---|')
    for (const method of lifelong)
      L.push(`| ${method} | ${ci(over(kind, method, (r) => r.final.ap))} | ${reachPct(kind, method, (x) => x.flopsFraction)} | ${reachPct(kind, method, (x) => x.wallFraction)} |`)
    L.push('')
  }
  for (const ref of REFERENCES.filter((m) => methods.includes(m))) {
    const apAt = (points: ComparedRun['ap'], flops: number): number | null => {
      const i = points.findIndex((p) => p.flops >= flops)
      if (i < 0) return null
      // a run first validated after that many FLOPs has no AP there (scratch validates only at the end)
      if (i === 0) return points[0]!.flops === flops ? points[0]!.value : null
      const a = points[i - 1]!
      const b = points[i]!
      return a.value + ((flops - a.flops) / (b.flops - a.flops)) * (b.value - a.value)
    }
    const at = seeds.map((s) => apAt(runOf(kind, ref, s).ap, runOf(kind, 'elle', s).totals.flops))
    L.push(
      `Against ${ref} (the final-size model ${ref === 'joint' ? 'trained on a uniform mixture of the domains seen so far' : 'trained once on the whole stream'}, a reference, not a lifelong baseline): at ELLE's total training FLOPs it had an AP of ${finite(at).length === 0 ? `– (its first validation came after ${((runOf(kind, ref, seeds[0]!).ap[0]?.flops ?? NaN) / 1e12).toFixed(2)} × 10¹² FLOPs, its whole run)` : ci(at)}; ELLE ended at ${ci(over(kind, 'elle', (r) => r.final.ap))}; ELLE's FLOPs to reach its final AP: ${reachPct(kind, ref, (x) => x.flopsFraction)}.`,
      ''
    )
  }
  // per-domain final perplexity beside the unigram floor, on the same tokens
  L.push(
    `Final perplexity per domain (mean [95% t interval] over seeds), beside the unigram floor (add-one unigram of the domain's training split on the same evaluated tokens):`,
    ''
  )
  L.push(`| | ${STREAM.join(' | ')} |`, `|---|${STREAM.map(() => '---|').join('')}`)
  L.push(
    `| evaluated tokens (documents) | ${c.stream
      .map((d, j) => {
        const e = runOf(kind, 'elle', seeds[0]!).evaluation.domains[j]
        return e ? `${e.tokens?.toLocaleString('en') ?? '–'} (${e.docs ?? '–'})` : d
      })
      .join(' | ')} |`
  )
  L.push(`| unigram floor | ${STREAM.map((d) => floors.get(`${kind}/${d}`)!.toFixed(1)).join(' | ')} |`)
  for (const method of methods) {
    L.push(`| ${method} | ${STREAM.map((d) => ci(over(kind, method, (r) => r.evaluation.domains.find((e) => e.domain === d)?.ppl ?? null))).join(' | ')} |`)
  }
  L.push('')
  if (!skipDownstream && taskNames.length > 0) {
    const rows: Array<{ label: string; key: (seed: number) => string }> = [
      ...methods.map((m) => ({ label: m, key: (s: number) => `${m}/${kind}/${s}/${promptOf(m)}` })),
      { label: 'elle, fine-tuned without prompt', key: (s: number) => `elle/${kind}/${s}/off` },
      { label: 'untrained model (no pre-training)', key: (s: number) => `untrained/${kind}/${s}/off` }
    ]
    for (const metric of ['accuracy', 'macroF1'] as const) {
      L.push(
        `Downstream ${metric === 'accuracy' ? 'accuracy' : 'macro-F1'} per task (final checkpoint, ${values['finetune-steps']} fine-tuning steps, ${values['downstream-seeds']} fine-tuning seed${values['downstream-seeds'] === '1' ? '' : 's'}; mean [95% t interval] over pre-training seeds):`,
        ''
      )
      L.push(`| | ${taskNames.join(' | ')} | mean |`, `|---|${taskNames.map(() => '---|').join('')}---|`)
      for (const row of rows) {
        const per = taskNames.map((_, t) =>
          ci(
            seeds.map((s) => downstream.get(row.key(s))?.tasks[t]?.[metric] ?? null),
            3
          )
        )
        L.push(
          `| ${row.label} | ${per.join(' | ')} | ${ci(
            seeds.map((s) => downstream.get(row.key(s))?.[metric] ?? null),
            3
          )} |`
        )
      }
      L.push(
        `| majority label | ${taskNames.map((t) => majority.get(t)?.[metric].toFixed(3) ?? '–').join(' | ')} | ${avg(taskNames.map((t) => majority.get(t)?.[metric] ?? NaN)).toFixed(3)} |`,
        ''
      )
    }
  }
  // every run's own final values with their bootstrap intervals over validation documents
  L.push('<details><summary>Every run: final geometric AP, AP and AP+ with 95% bootstrap intervals over validation documents</summary>', '')
  L.push('| method | seed | run | geometric AP | AP | AP+ |', '|---|---|---|---|---|---|')
  const fmt = (v: number | null, i: { lo: number; hi: number } | null) => (v === null ? '–' : `${v.toFixed(1)}${i ? ` [${i.lo.toFixed(1)}, ${i.hi.toFixed(1)}]` : ''}`)
  for (const method of methods)
    for (const s of seeds) {
      const r = runOf(kind, method, s)
      L.push(`| ${method} | ${s} | ${r.id} | ${fmt(r.final.apGeo, r.final.ci.apGeo)} | ${fmt(r.final.ap, r.final.ci.ap)} | ${fmt(r.final.apPlus, r.final.ci.apPlus)} |`)
    }
  L.push('', '</details>', '')
  // AP against wall time and FLOPs, seed 0, all methods
  const s0 = seeds[0]!
  for (const axis of ['seconds', 'flops'] as const) {
    const shown = methods.map((m) => runOf(kind, m, s0))
    const input: CurveChartInput = {
      title: `${kind.toUpperCase()}: AP against training ${axis === 'seconds' ? 'wall time' : 'FLOPs'} (seed ${s0})`,
      xAxis: axis === 'seconds' ? 'wall' : 'flops',
      xLabel: axis === 'seconds' ? 'training wall time' : 'training FLOPs',
      yLabel: 'AP',
      logY: false,
      lines: shown.map((r) => ({
        key: `run:${r.id}`,
        label: benchMethodOf.get(r.id) ?? r.label,
        color: runColor(r.id),
        role: 'run' as const,
        dashed: !r.elle,
        x: r.ap.map((p) => (axis === 'seconds' ? p.wallS : p.flops)),
        y: r.ap.map((p) => p.value),
        points: r.ap.length
      })),
      // where the ELLE run starts each domain and grows (every method's would crowd the picture)
      markers: phaseMarkers(runOf(kind, 'elle', s0), axis === 'seconds' ? 'wallS' : 'flops')
    }
    const file = `lifelong-${tierName === 'short' ? '' : `${tierName}-`}${kind}-ap-${axis === 'seconds' ? 'wall' : 'flops'}.svg`
    fs.writeFileSync(path.join(imgDir, file), curveSvg(input, { width: 900 }).file)
    L.push(`![${kind} AP against ${axis}, seed ${s0}](img/${file})`, '')
  }
}

writeSection(values.out!, tierName, L)
log(`wrote the ${tierName} tier of ${values.out}`)

/**
 * Replace this tier's section of the results file (between its markers), keeping everything else: the
 * introduction, the other tier and the hand-written findings. A file without markers (the format before tiers)
 * keeps only its findings.
 */
function writeSection(file: string, name: string, body: string[]): void {
  const begin = `<!-- bench:lifelong ${name} begin (generated; edit outside these markers) -->`
  const end = `<!-- bench:lifelong ${name} end -->`
  const section = [begin, '', ...body, end].join('\n')
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
  const at = previous.indexOf(`<!-- bench:lifelong ${name} begin`)
  if (at >= 0) {
    const stop = previous.indexOf(end, at)
    if (stop < 0) throw new Error(`${file}: the ${name} tier's begin marker has no end marker ("${end}"); fix the file by hand`)
    fs.writeFileSync(file, previous.slice(0, at) + section + previous.slice(stop + end.length))
    return
  }
  const findingsAt = previous.indexOf('\n## Findings\n')
  const findings = findingsAt >= 0 ? previous.slice(findingsAt + 1).trimEnd() : '## Findings\n\nFINDINGS_PLACEHOLDER'
  if (previous.includes('<!-- bench:lifelong ')) {
    // the other tier is there: this one goes before the findings
    const head = findingsAt >= 0 ? previous.slice(0, findingsAt + 1) : `${previous.trimEnd()}\n\n`
    fs.writeFileSync(file, `${head}${section}\n\n${findings}\n`)
    return
  }
  fs.writeFileSync(file, `# Lifelong benchmark results\n\n${section}\n\n${findings}\n`)
}
