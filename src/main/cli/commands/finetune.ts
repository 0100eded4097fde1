import path from 'node:path'
import type { JobResult } from '../../../shared/jobs'
import { DEFAULT_FINETUNE, DEFAULT_SEEDS, DEFAULT_TASK_NAMES, MAX_SEEDS, PROMPT_CHOICES } from '../../engine/api/facade'
import { table } from '../format'
import { BACKEND_FLAG, intFlag, stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'

type FinetuneReport = JobResult<'finetune'>
type DownstreamMatrixReport = JobResult<'forgetting'>
type MetricMatrix = DownstreamMatrixReport['accuracy']
type PromptChoice = (typeof PROMPT_CHOICES)[number]

const f3 = (x: number | null): string | null => (x === null || Number.isNaN(x) ? null : x.toFixed(3))
const signed = (x: number | null): string => (x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`)

function describeSingle(r: FinetuneReport): string {
  const lines = [
    `${r.task} (${r.kind}) on ${r.checkpoint}`,
    `prompt ${r.prompt}${r.promptToken ? ` ${r.promptToken}` : ''} · ${r.seeds.length} seed${r.seeds.length === 1 ? '' : 's'} × ${r.settings.steps} updates of ${r.settings.batchSize} · inputs up to ${r.settings.maxLength} tokens`
  ]
  if (r.seenDomains === null) lines.push('note: the checkpoint records no stream, so whether it has seen this domain was not checked')
  lines.push(
    '',
    table(
      ['seed', 'accuracy', 'macro-F1', 'train loss', 'seconds'],
      r.seeds.map((s) => [s.seed, f3(s.accuracy), f3(s.macroF1), f3(s.trainLoss), s.seconds.toFixed(1)])
    ),
    ''
  )
  lines.push(`accuracy ${f3(r.accuracy.mean)} ± ${f3(r.accuracy.std)}   macro-F1 ${f3(r.macroF1.mean)} ± ${f3(r.macroF1.std)}`)
  lines.push(`majority class ("${r.majority.label}"): accuracy ${f3(r.majority.accuracy)}   macro-F1 ${f3(r.majority.macroF1)}`)
  if (r.kind === 'tagging' && (r.seeds[0]?.truncatedWords ?? 0) > 0) {
    lines.push(`${r.seeds[0]!.truncatedWords} of ${r.seeds[0]!.scored + r.seeds[0]!.truncatedWords} test words were past the input length and not scored`)
  }
  lines.push(r.stored ? `stored ${r.stored.rows} rows for run ${r.stored.runId}, checkpoint ${r.stored.checkpointId}` : 'not stored: the checkpoint belongs to no run in the store')
  return lines.join('\n')
}

function describeMatrix(name: string, r: DownstreamMatrixReport, m: MetricMatrix): string {
  const headers = ['after stage', ...r.stages.map((s) => s.task ?? `${s.domain} (no task)`)]
  const rows: Array<Array<string | null>> = r.stages.map((s, i) => [
    `${i} ${s.domain}`,
    ...m.R[i]!.map((v, j) => {
      if (v === null) return null
      const fwd = r.cells.some((c) => c.forward && c.stage === i && c.taskStage === j)
      return `${f3(v)}${r.seeds.length > 1 ? ` ±${f3(m.std[i]![j]!)}` : ''}${fwd ? ' (fwd)' : ''}`
    })
  ])
  if (m.baseline.some((b) => b !== null)) rows.unshift(['initial model', ...m.baseline.map(f3)])
  return [`${name}, mean over ${r.seeds.length} seed${r.seeds.length === 1 ? '' : 's'}:`, table(headers, rows), `BWT ${signed(m.bwt)}   FWT ${signed(m.fwt)}`].join('\n')
}

export const finetuneCommand: Command = {
  name: 'finetune',
  summary: "Fine-tune a checkpoint on a domain's labelled task (accuracy, macro-F1 over seeds), or every stage of a run (forgetting matrix, BWT, FWT).",
  usage:
    'elle finetune CHECKPOINT --task NAME [--seeds K] [--prompt own|off|wrong] [--json]\n       elle finetune --run RUN_ID [--seeds K] [--prompt own|off|wrong] [--backward-only] [--json]',
  methods: ['checkpoints.finetune', 'runs.forgetting', 'jobs.cancel'],
  flags: {
    task: { type: 'string', description: `the task: ${DEFAULT_TASK_NAMES.join(', ')}` },
    run: { type: 'string', description: "fine-tune each end-of-stage checkpoint of this run on every seen domain's task" },
    seeds: { type: 'string', description: `number of seeds k (seeds 0..k-1), 1 to ${MAX_SEEDS}`, default: String(DEFAULT_SEEDS) },
    prompt: { type: 'string', description: "domain prompt in the input: own, off or wrong (another domain's)", default: 'own' },
    steps: { type: 'string', description: 'fine-tuning updates per seed', default: String(DEFAULT_FINETUNE.steps) },
    'backward-only': { type: 'boolean', description: 'with --run: skip the next-task scores and the initial model (no FWT)', requires: 'run' },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    'data-dir': { type: 'string', description: 'corpora, caches and tasks (env: ELLE_DATA_DIR)' },
    backend: BACKEND_FLAG,
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'CHECKPOINT', min: 0, max: 1 },
  exclusive: [
    [
      ['CHECKPOINT', 'task'],
      ['run', 'backward-only']
    ]
  ],
  async run({ values, positionals }) {
    const runFlag = stringFlag(values.run)
    const task = stringFlag(values.task)
    // a CHECKPOINT with --run, --task with --run, --backward-only without --run: refused by the spec above
    if (runFlag === undefined) {
      if (positionals.length !== 1) throw new UsageError('give exactly one CHECKPOINT directory, or --run RUN_ID')
      if (task === undefined) throw new UsageError(`--task is required; known tasks: ${DEFAULT_TASK_NAMES.join(', ')}`)
    }
    const seeds = intFlag(values.seeds, 'seeds', { min: 1, max: MAX_SEEDS }) ?? DEFAULT_SEEDS
    const prompt = stringFlag(values.prompt) ?? 'own'
    if (!(PROMPT_CHOICES as readonly string[]).includes(prompt)) throw new UsageError(`--prompt must be one of ${PROMPT_CHOICES.join(', ')}, got "${prompt}"`)
    const runId = runFlag === undefined ? undefined : intFlag(runFlag, 'run', { min: 1, max: Number.MAX_SAFE_INTEGER })
    // an unknown task is a usage error (exit 2), refused before anything is started or stored
    if (task !== undefined && !DEFAULT_TASK_NAMES.includes(task)) throw new UsageError(`unknown task "${task}"; known tasks: ${DEFAULT_TASK_NAMES.join(', ')}`)
    const steps = intFlag(values.steps, 'steps', { min: 1, max: 1_000_000 })
    const dataDir = stringFlag(values['data-dir'])
    const api = await openCliApi(finetuneCommand, { db: stringFlag(values.db), dataDir: dataDir && path.resolve(dataDir), backend: stringFlag(values.backend) })
    try {
      if (runId !== undefined) {
        console.error(`fine-tuning the end-of-stage checkpoints of run ${runId} (${seeds} seeds × ${steps ?? DEFAULT_FINETUNE.steps} updates each)`)
        const { result: report } = await api.runJob(
          'runs.forgetting',
          { runId, seeds, prompt: prompt as PromptChoice, backwardOnly: values['backward-only'] === true, ...(steps === undefined ? {} : { steps }) },
          'forgetting'
        )
        if (values.json) console.log(JSON.stringify(report, null, 2))
        else {
          console.log(`run ${runId}: downstream scores after each stage (rows) on each stage's task (columns), prompt ${report.prompt}`)
          console.log(['', describeMatrix('accuracy', report, report.accuracy), '', describeMatrix('macro-F1', report, report.macroF1)].join('\n'))
          console.log("\nFWT baseline: the run's initial model, fine-tuned the same way; (fwd) marks a task whose domain the stage had not seen yet")
        }
        return 0
      }
      const { result: report } = await api.runJob(
        'checkpoints.finetune',
        { checkpointPath: path.resolve(positionals[0]!), task: task!, seeds, prompt: prompt as PromptChoice, ...(steps === undefined ? {} : { steps }) },
        'finetune'
      )
      if (values.json) console.log(JSON.stringify(report, null, 2))
      else console.log(describeSingle(report))
      return 0
    } finally {
      await api.close()
    }
  }
}
