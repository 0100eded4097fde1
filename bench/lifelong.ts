// npm run bench:lifelong — every method on the default stream, BERT and GPT, several seeds, at a scale
// that fits about an hour of one CPU core; then downstream fine-tuning of the final checkpoints and the
// comparison, written to docs/results.md with SVG plots in docs/img/. Resumable: finished runs are kept
// in the bench store and skipped; an interrupted one resumes from its checkpoint.
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { compareRuns } from '../src/main/engine/compare'
import { curveSvg } from '../src/main/engine/compare/svg'
import { phaseMarkers } from '../src/shared/charts/compare'
import { runColor } from '../src/shared/charts/palette'
import type { CurveChartInput } from '../src/shared/charts/types'
import { finetuneCheckpoint, finetuneUntrained, metricName, primaryTask } from '../src/main/engine/downstream'
import { readStreamManifest } from '../src/main/engine/data'
import { ExperimentStore } from '../src/main/engine/store/store'
import { defaultStreamDir } from '../src/main/engine/training/data'
import { Engine } from '../src/main/engine/engine'
import { defaultDataDir } from '../src/main/engine/paths'
import { parseRunConfig, type RunConfigInput } from '../src/main/engine/training/config'
import { BASELINES, baselineConfig } from '../src/main/engine/training/presets'
import type { ComputeSaved, RunComparison, RunSummary } from '../src/shared/contract'

const { values } = parseArgs({
  options: {
    kinds: { type: 'string', default: 'gpt,bert' },
    seeds: { type: 'string', default: '3' },
    methods: { type: 'string', default: ['elle', 'elle-no-prompt', ...Object.keys(BASELINES)].join(',') },
    'first-steps': { type: 'string', default: '120' },
    'stage-steps': { type: 'string', default: '60' },
    'frw-steps': { type: 'string', default: '10' },
    'downstream-seeds': { type: 'string', default: '1' },
    'finetune-steps': { type: 'string', default: '60' },
    db: { type: 'string' },
    'data-dir': { type: 'string' },
    out: { type: 'string', default: 'docs/results.md' },
    'skip-downstream': { type: 'boolean', default: false }
  }
})
const kinds = values.kinds!.split(',') as Array<'gpt' | 'bert'>
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i)
const methods = values.methods!.split(',')
const dataDir = values['data-dir'] ?? defaultDataDir()
const dbPath = values.db ?? path.join(dataDir, 'bench-lifelong.sqlite')
const STREAM = ['press', 'humanities', 'hobbies', 'learned', 'fiction', 'email']
const GROWTH = [
  { layers: 1, heads: 1 },
  { layers: 0, heads: 1 },
  { layers: 1, heads: 0 },
  { layers: 0, heads: 1 },
  { layers: 1, heads: 0 }
]

/** ELLE at bench scale: the demo's recipe on a smaller model and fewer steps. */
function elleConfig(kind: 'gpt' | 'bert', seed: number): RunConfigInput {
  return {
    name: `bench-elle-${kind}-s${seed}`,
    model: { kind, layers: 1, heads: 2, headSize: 16 },
    training: { seqLen: 48, batchSize: 8, lr: 3e-3, validateEvery: 30, validationSequences: 0, checkpointEvery: 1000, seed },
    growth: { mode: 'elle', noise: 0.01, optimizer: 'reset', rampSteps: 20 },
    replay: { ratio: 0.1, weights: 'adaptive' },
    memory: { fraction: 0.1 },
    stages: STREAM.map((domain, i) =>
      i === 0 ? { domain, steps: Number(values['first-steps']) } : { domain, steps: Number(values['stage-steps']), frwSteps: Number(values['frw-steps']), grow: GROWTH[i - 1] }
    )
  }
}

function configFor(method: string, kind: 'gpt' | 'bert', seed: number): RunConfigInput {
  const elle = elleConfig(kind, seed)
  if (method === 'elle') return elle
  // the prompt ablation of the paper: ELLE pre-trained (and later fine-tuned) without domain prompts
  if (method === 'elle-no-prompt') return { ...elle, name: `bench-elle-no-prompt-${kind}-s${seed}`, training: { ...elle.training, prompts: 'off' } }
  const b = BASELINES[method as keyof typeof BASELINES]
  if (!b) throw new Error(`unknown method "${method}"; known: elle, ${Object.keys(BASELINES).join(', ')}`)
  return { ...baselineConfig(elle, b.method, b.replay === true), name: `bench-${method}-${kind}-s${seed}` }
}

/** The prompt a method's checkpoints are fine-tuned with: their own, except for the run pre-trained without. */
const promptOf = (method: string): 'own' | 'off' => (method === 'elle-no-prompt' ? 'off' : 'own')

const started = Date.now()
const log = (m: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`)
const engine = await Engine.open({ dbPath, dataDir, backend: { env: process.env.ELLE_BACKEND } })
// Two invocations on one --db share the store's queue: a run queued behind the other process's is started by the queue's
// timer, which is unref'd, so without this the process would exit silently while it waits. Cleared when the engine closes.
const keepAlive = setInterval(() => undefined, 60_000)
const runs = new Map<string, RunSummary>() // key: method/kind/seed

for (const kind of kinds) {
  for (const seed of seeds) {
    for (const method of methods) {
      const config = configFor(method, kind, seed)
      // the engine stores the parsed config (defaults filled in): find the experiment the same way
      const parsed = parseRunConfig(config)
      const experiment = engine.store.ensureExperiment(parsed.name, parsed)
      const existing = engine.store.listRuns().filter((r) => r.experimentId === experiment.id)
      const finished = existing.find((r) => r.status === 'finished')
      let run: RunSummary
      if (finished) run = finished
      else {
        const stopped = existing.find((r) => r.status !== 'running' && engine.store.listCheckpoints(r.id).length > 0)
        run = stopped ? engine.resumeRun(stopped.id) : engine.startRun(config, { fresh: true })
        log(`${config.name}: run ${run.id}`)
        run = await engine.host.waitFor(run.id)
        if (run.status !== 'finished') throw new Error(`${config.name} ${run.status}: ${run.error}`)
      }
      runs.set(`${method}/${kind}/${seed}`, run)
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
if (!values['skip-downstream']) {
  const manifest = readStreamManifest(defaultStreamDir(dataDir))
  if (!manifest) throw new Error(`the default stream is not prepared in ${dataDir}`)
  const tasks = STREAM.map((d) => primaryTask(manifest, d)!.name)
  taskNames = tasks
  const settings = { steps: Number(values['finetune-steps']) }
  const seedCount = Number(values['downstream-seeds'])
  // The floor pre-training has to beat: the same fine-tuning from an untrained model of the baselines'
  // size (each pre-training seed's initial weights). No checkpoint, so cached in a file beside the store.
  const cacheFile = `${dbPath}.untrained.json`
  const cache = (fs.existsSync(cacheFile) ? JSON.parse(fs.readFileSync(cacheFile, 'utf8')) : {}) as Record<
    string,
    { accuracy: number; macroF1: number; majority: { accuracy: number; macroF1: number } }
  >
  for (const kind of kinds) {
    for (const seed of seeds) {
      const perTask: DownstreamScores['tasks'] = []
      for (const task of tasks) {
        const key = `${kind}/${seed}/${task}/steps${settings.steps}/seeds${seedCount}`
        if (!cache[key]) {
          log(`downstream untrained ${kind} s${seed} ${task}`)
          const r = await finetuneUntrained(parseRunConfig(elleConfig(kind, seed)), { dataDir, task, seeds: seedCount, settings })
          cache[key] = { accuracy: r.accuracy.mean, macroF1: r.macroF1.mean, majority: { accuracy: r.majority.accuracy, macroF1: r.majority.macroF1 } }
          fs.writeFileSync(cacheFile, JSON.stringify(cache, null, 1))
        }
        perTask.push({ accuracy: cache[key].accuracy, macroF1: cache[key].macroF1 })
        majority.set(task, cache[key].majority)
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

// Comparisons per kind and seed, then means over seeds.
const comparisons = new Map<string, RunComparison>()
for (const kind of kinds)
  for (const seed of seeds)
    comparisons.set(
      `${kind}/${seed}`,
      compareRuns(
        engine.store,
        methods.map((m) => runs.get(`${m}/${kind}/${seed}`)!.id)
      )
    )
await engine.close()
clearInterval(keepAlive)

const mean = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x))
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null
}
const sd = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x))
  if (v.length < 2) return null
  const m = v.reduce((a, b) => a + b, 0) / v.length
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1))
}
const pm = (xs: Array<number | null>, digits = 1): string => {
  const m = mean(xs)
  const s = sd(xs)
  return m === null ? '–' : `${m.toFixed(digits)}${s === null ? '' : ` ± ${s.toFixed(digits)}`}`
}
const finalOf = (kind: string, method: string, f: (r: RunComparison['runs'][number]) => number | null) =>
  seeds.map((seed) => {
    const run = comparisons.get(`${kind}/${seed}`)!.runs.find((r) => r.id === runs.get(`${method}/${kind}/${seed}`)!.id)!
    return f(run)
  })
const savedOf = (kind: string, method: string, f: (c: ComputeSaved) => number | null) =>
  seeds.map((seed) => {
    const c = comparisons.get(`${kind}/${seed}`)!
    const elleId = runs.get(`elle/${kind}/${seed}`)?.id
    const otherId = runs.get(`${method}/${kind}/${seed}`)!.id
    const cs = c.computeSaved.find((x) => x.elleRunId === elleId && x.otherRunId === otherId)
    return cs ? f(cs) : null
  })

const trainingWallS = [...comparisons.values()].reduce((n, c) => n + c.runs.reduce((m, r) => m + r.totals.wallS, 0), 0)
/** ELLE's wall time or FLOPs to reach a run's final AP, in % of that run's, over the seeds where it got there. */
const reachPct = (kind: string, method: string, fraction: (c: ComputeSaved) => number | null): string => {
  const xs = savedOf(kind, method, (c) => {
    const f = fraction(c)
    return f === null ? null : 100 * f
  })
  const reached = xs.filter((x) => x !== null).length
  if (reached === 0) return 'not reached'
  return `${pm(xs, 0)} %${reached < xs.length ? ` (${reached}/${xs.length} seeds)` : ''}`
}
const imgDir = path.join(path.dirname(values.out!), 'img')
fs.mkdirSync(imgDir, { recursive: true })
const lines: string[] = []
lines.push('# Lifelong benchmark results', '')
lines.push(
  `Produced by \`npm run bench:lifelong -- --kinds ${kinds.join(',')} --seeds ${seeds.length} --first-steps ${values['first-steps']} --stage-steps ${values['stage-steps']} --frw-steps ${values['frw-steps']} --downstream-seeds ${values['downstream-seeds']} --finetune-steps ${values['finetune-steps']}\``
)
lines.push(
  `on ${new Date().toISOString().slice(0, 10)}: ${methods.length} methods × ${kinds.length} model kinds × ${seeds.length} seeds on the six default domains, tiny models (1 layer, 2 heads of 16 at the start; ELLE grows to 4 layers and 5 heads), wasm backend; training wall time summed over all runs ${(trainingWallS / 60).toFixed(0)} min (this invocation: ${((Date.now() - started) / 60000).toFixed(0)} min, runs and fine-tuning results already in the store are reused). Mean ± standard deviation over seeds. Lower AP and AP+ are better.`,
  ''
)
for (const kind of kinds) {
  lines.push(`## ${kind.toUpperCase()}`, '')
  lines.push(
    '| method | final AP | final AP+ | geometric AP | training wall s | FLOPs (×10¹²) | final params | ELLE wall to reach its AP | ELLE FLOPs to reach its AP | downstream acc. (mean of 6 tasks) | downstream macro-F1 |'
  )
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|')
  for (const method of methods) {
    const ds = seeds.map((s) => downstream.get(`${method}/${kind}/${s}/${promptOf(method)}`) ?? null)
    lines.push(
      `| ${method} | ${pm(finalOf(kind, method, (r) => r.final.ap))} | ${pm(finalOf(kind, method, (r) => r.final.apPlus))} | ${pm(finalOf(kind, method, (r) => r.final.apGeo))} | ${pm(
        finalOf(kind, method, (r) => r.totals.wallS),
        0
      )} | ${pm(
        finalOf(kind, method, (r) => r.totals.flops / 1e12),
        2
      )} | ${pm(
        finalOf(kind, method, (r) => r.totals.params),
        0
      )} | ${method === 'elle' ? '–' : reachPct(kind, method, (c) => c.wallFraction)} | ${method === 'elle' ? '–' : reachPct(kind, method, (c) => c.flopsFraction)} | ${pm(
        ds.map((d) => d?.accuracy ?? null),
        3
      )} | ${pm(
        ds.map((d) => d?.macroF1 ?? null),
        3
      )} |`
    )
  }
  // Equal compute the other way round: the from-scratch model's AP when it had spent ELLE's total FLOPs.
  if (methods.includes('scratch')) {
    const apAt = (points: RunComparison['runs'][number]['ap'], flops: number): number | null => {
      const i = points.findIndex((p) => p.flops >= flops)
      if (i < 0) return null
      if (i === 0) return points[0]!.value
      const a = points[i - 1]!
      const b = points[i]!
      return a.value + ((flops - a.flops) / (b.flops - a.flops)) * (b.value - a.value)
    }
    const at = seeds.map((seed) => {
      const c = comparisons.get(`${kind}/${seed}`)!
      const elle = c.runs.find((r) => r.id === runs.get(`elle/${kind}/${seed}`)!.id)!
      const scratch = c.runs.find((r) => r.id === runs.get(`scratch/${kind}/${seed}`)!.id)!
      return apAt(scratch.ap, elle.totals.flops)
    })
    lines.push(
      '',
      `With ELLE's total training FLOPs, the from-scratch model (final size, all domains mixed) had an AP of ${pm(at)}; ELLE ended at ${pm(finalOf(kind, 'elle', (r) => r.final.ap))}.`
    )
  }
  const off = seeds.map((s) => downstream.get(`elle/${kind}/${s}/off`) ?? null)
  lines.push(
    '',
    `ELLE fine-tuned without its prompt: accuracy ${pm(
      off.map((d) => d?.accuracy ?? null),
      3
    )}, macro-F1 ${pm(
      off.map((d) => d?.macroF1 ?? null),
      3
    )} (with it: see the elle row).`,
    ''
  )
  if (taskNames.length > 0) {
    // Per task: every method's final checkpoint, ELLE without its prompt at fine-tuning, and the floors.
    const rows: Array<{ label: string; key: (seed: number) => string }> = [
      ...methods.map((m) => ({ label: m, key: (s: number) => `${m}/${kind}/${s}/${promptOf(m)}` })),
      { label: 'elle, fine-tuned without prompt', key: (s: number) => `elle/${kind}/${s}/off` },
      { label: 'untrained model (no pre-training)', key: (s: number) => `untrained/${kind}/${s}/off` }
    ]
    for (const metric of ['accuracy', 'macroF1'] as const) {
      lines.push(
        `Downstream ${metric === 'accuracy' ? 'accuracy' : 'macro-F1'} per task (final checkpoint, ${values['finetune-steps']} fine-tuning steps, mean ± sd over pre-training seeds):`,
        ''
      )
      lines.push(`| | ${taskNames.join(' | ')} | mean |`, `|---|${taskNames.map(() => '---|').join('')}---|`)
      for (const row of rows) {
        const per = taskNames.map((_, t) =>
          pm(
            seeds.map((s) => downstream.get(row.key(s))?.tasks[t]?.[metric] ?? null),
            3
          )
        )
        lines.push(
          `| ${row.label} | ${per.join(' | ')} | ${pm(
            seeds.map((s) => downstream.get(row.key(s))?.[metric] ?? null),
            3
          )} |`
        )
      }
      lines.push(
        `| majority label | ${taskNames.map((t) => majority.get(t)?.[metric].toFixed(3) ?? '–').join(' | ')} | ${avg(taskNames.map((t) => majority.get(t)?.[metric] ?? NaN)).toFixed(3)} |`,
        ''
      )
    }
  }
  // AP against wall time and FLOPs, seed 0, all methods
  const c0 = comparisons.get(`${kind}/0`)!
  const methodOfRun = (id: number): string => methods.find((m) => runs.get(`${m}/${kind}/0`)?.id === id) ?? `run ${id}`
  for (const axis of ['seconds', 'flops'] as const) {
    const input: CurveChartInput = {
      title: `${kind.toUpperCase()}: AP against training ${axis === 'seconds' ? 'wall time' : 'FLOPs'} (seed 0)`,
      xAxis: axis === 'seconds' ? 'wall' : 'flops',
      xLabel: axis === 'seconds' ? 'training wall time' : 'training FLOPs',
      yLabel: 'AP',
      logY: false,
      lines: c0.runs.map((r) => ({
        key: `run:${r.id}`,
        label: methodOfRun(r.id),
        color: runColor(r.id),
        role: 'run' as const,
        dashed: !r.elle,
        x: r.ap.map((p) => (axis === 'seconds' ? p.wallS : p.flops)),
        y: r.ap.map((p) => p.value),
        points: r.ap.length
      })),
      // where the ELLE runs start each domain and grow (every method's would crowd the picture)
      markers: c0.runs.filter((r) => r.elle).flatMap((r) => phaseMarkers(r, axis === 'seconds' ? 'wallS' : 'flops'))
    }
    const svg = curveSvg(input, { width: 900 }).file
    const file = `lifelong-${kind}-ap-${axis === 'seconds' ? 'wall' : 'flops'}.svg`
    fs.writeFileSync(path.join(imgDir, file), svg)
    lines.push(`![${kind} AP against ${axis}](img/${file})`, '')
  }
}
// The findings are written by hand against these numbers; a regenerated report keeps them.
const previous = fs.existsSync(values.out!) ? fs.readFileSync(values.out!, 'utf8') : ''
const kept = previous.includes('\n## Findings\n') ? previous.slice(previous.indexOf('\n## Findings\n') + 1).trimEnd() : ''
if (kept && !kept.includes('FINDINGS_PLACEHOLDER')) lines.push(kept, '')
else lines.push('## Findings', '', 'FINDINGS_PLACEHOLDER', '')
fs.writeFileSync(values.out!, lines.join('\n'))
log(`wrote ${values.out}`)
