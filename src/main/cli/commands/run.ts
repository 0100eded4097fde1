import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline/promises'
import { ApiError, type RunSummary } from '../../../shared/contract'
import { pplDomain, SERIES } from '../../../shared/metrics'
import { StageConfig, TrainingSettings, type RunConfig } from '../../../shared/run-config'
import { PRESETS, quickRunConfig, SIZES, type SizeName } from '../../engine/api/facade'
import { BACKEND_FLAG, intFlag, stringFlag, UsageError, type Command } from '../args'
import { openCliApi, type CliApi } from '../api'
import { describePpl, formatDuration, ProgressReporter } from '../progress'

/** A config file that cannot be read or parsed (exit 1, like a config the engine refuses). */
export class ConfigFileError extends Error {}

export function readConfigFile(file: string): unknown {
  let text: string
  try {
    // editors on Windows save UTF-8 with a byte-order mark, which JSON.parse refuses
    text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '')
  } catch (error) {
    throw new ConfigFileError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new ConfigFileError(`${file} is not valid JSON: ${(error as Error).message}`)
  }
}

// the quick-run flags take the ranges of the config schema, so the CLI refuses what the engine would
const STEPS = { min: StageConfig.shape.steps.minValue ?? 1, max: StageConfig.shape.steps.maxValue ?? Number.MAX_SAFE_INTEGER }
const SEED = { min: TrainingSettings.shape.seed.unwrap().minValue ?? 0, max: TrainingSettings.shape.seed.unwrap().maxValue ?? Number.MAX_SAFE_INTEGER }

function quickConfig(values: Record<string, string | boolean | undefined>): RunConfig {
  const kind = stringFlag(values.model)
  const size = stringFlag(values.size) ?? 'tiny'
  const domain = stringFlag(values.domain)
  if (kind !== 'gpt' && kind !== 'bert') throw new UsageError('--model must be gpt or bert (or give a CONFIG.json)')
  if (!(size in SIZES)) throw new UsageError(`--size must be one of ${Object.keys(SIZES).join(', ')}, got "${size}"`)
  if (!domain) throw new UsageError('--domain NAME is required (see "elle domains")')
  const steps = intFlag(values.steps, 'steps', STEPS) ?? 200
  const seed = intFlag(values.seed, 'seed', SEED)
  return quickRunConfig({ kind, size: size as SizeName, domain, steps, seed })
}

async function presetConfig(api: CliApi, name: string): Promise<unknown> {
  const { presets } = await api.call('presets.list', {})
  const preset = presets.find((p) => p.name === name)
  if (!preset) throw new UsageError(`unknown preset "${name}"; presets: ${presets.map((p) => p.name).join(', ')}`)
  return preset.config
}

/** The run's end: resolves with the run once it is no longer queued or running (run.updated events). */
function ended(api: CliApi, runId: number): { done: Promise<RunSummary>; stop: () => void } {
  let settle: (run: RunSummary) => void = () => {}
  const done = new Promise<RunSummary>((resolve) => (settle = resolve))
  const stop = api.onEvent((event) => {
    if (event.type === 'run.updated' && event.run.id === runId && event.run.status !== 'queued' && event.run.status !== 'running') settle(event.run)
    // taken over by another process: this one stopped, whatever the store says the new owner is doing
    if (event.type === 'run.lost' && event.run.id === runId) settle(event.run)
  })
  return { done, stop }
}

async function askYesNo(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = (await rl.question(`${question} [Y/n] `)).trim().toLowerCase()
    return answer === '' || answer === 'y' || answer === 'yes'
  } finally {
    rl.close()
  }
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Train: a run from a config file, a quick single-domain run, or resume a stopped run.',
  usage: 'elle run CONFIG.json [--fresh] | elle run --preset NAME | elle run --model gpt|bert --size tiny|small --domain NAME --steps N [--out DIR] | elle run --resume RUN_ID',
  methods: ['presets.list', 'runs.start', 'runs.resume', 'runs.cancel', 'runs.metrics', 'checkpoints.list'],
  flags: {
    model: { type: 'string', description: 'quick run: gpt or bert' },
    size: { type: 'string', description: 'quick run: tiny or small', default: 'tiny' },
    domain: { type: 'string', description: 'quick run: the domain to train on' },
    steps: { type: 'string', description: 'quick run: optimizer updates', default: '200' },
    seed: { type: 'string', description: 'quick run: random seed', default: '0' },
    preset: { type: 'string', description: `a ready-made experiment: ${PRESETS.map((p) => p.name).join(', ')}` },
    resume: { type: 'string', description: 'resume run RUN_ID from its last checkpoint' },
    fresh: { type: 'boolean', description: 'start a new run even if an unfinished run of the same experiment exists' },
    out: { type: 'string', description: 'copy the final checkpoint to this directory' },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    'data-dir': { type: 'string', description: 'corpora, caches and checkpoints (env: ELLE_DATA_DIR)' },
    backend: BACKEND_FLAG,
    json: { type: 'boolean', description: 'print a JSON summary at the end' }
  },
  positionals: { name: 'CONFIG.json', min: 0, max: 1 },
  exclusive: [
    [['CONFIG.json'], ['preset'], ['resume'], ['model', 'size', 'domain', 'steps', 'seed']],
    [['resume'], ['fresh']]
  ],
  async run({ values, positionals }) {
    const resumeId = intFlag(values.resume, 'resume', { min: 1, max: Number.MAX_SAFE_INTEGER })
    const out = stringFlag(values.out)
    if (out && fs.existsSync(out) && (!fs.statSync(out).isDirectory() || fs.readdirSync(out).length > 0))
      throw new UsageError(`--out ${out} exists and is not an empty directory; nothing was written`)
    const preset = stringFlag(values.preset)
    const fromFile = resumeId === undefined && preset === undefined && positionals[0] ? readConfigFile(positionals[0]) : null
    const quick = resumeId === undefined && preset === undefined && !positionals[0] ? quickConfig(values) : null

    const reporter = new ProgressReporter()
    const dataDir = stringFlag(values['data-dir'])
    const api = await openCliApi(runCommand, {
      db: stringFlag(values.db),
      dataDir: dataDir ? path.resolve(dataDir) : undefined,
      backend: stringFlag(values.backend),
      log: (_id, message) => reporter.message(message)
    })
    try {
      const config = resumeId !== undefined ? null : preset !== undefined ? await presetConfig(api, preset) : (fromFile ?? quick)
      let run: RunSummary
      // subscribed before the run starts: a run.updated of a short run is not missed
      let watch: ReturnType<typeof ended> | null = null
      const start = async (call: () => Promise<RunSummary>): Promise<RunSummary> => {
        const events: RunSummary[] = []
        const buffer = api.onEvent((e) => void (e.type === 'run.updated' && events.push(e.run)))
        try {
          const started = await call()
          watch = ended(api, started.id)
          const over = events.filter((r) => r.id === started.id).find((r) => r.status !== 'queued' && r.status !== 'running')
          if (over) watch = { done: Promise.resolve(over), stop: watch.stop }
          return started
        } finally {
          buffer()
        }
      }
      if (resumeId !== undefined) run = await start(() => api.call('runs.resume', { id: resumeId }))
      else {
        try {
          run = await start(() => api.call('runs.start', { config: config as RunConfig, fresh: values.fresh === true }))
        } catch (error) {
          const resumable = error instanceof ApiError ? error.details.resumable : undefined
          if (!resumable || !process.stdin.isTTY || !process.stderr.isTTY) throw error
          const resume = await askYesNo(`Run ${resumable.runId} of this experiment stopped at step ${resumable.step} (${resumable.status}). Resume it?`)
          run = resume
            ? await start(() => api.call('runs.resume', { id: resumable.runId }))
            : await start(() => api.call('runs.start', { config: config as RunConfig, fresh: true }))
        }
      }
      reporter.message(`run ${run.id} (${run.experimentName}) on ${api.backend.active}; store ${api.storePath}`)
      const stopProgress = api.onEvent((event) => {
        if (event.type === 'run.progress' && event.progress.runId === run.id) reporter.update(event.progress)
      })
      let interrupts = 0
      const onInterrupt = (): void => {
        interrupts += 1
        if (interrupts > 1) process.exit(130)
        reporter.message('cancelling: finishing the current update and writing a checkpoint (Ctrl+C again to quit at once)')
        void api.call('runs.cancel', { id: run.id }).catch(() => process.exit(130))
      }
      process.on('SIGINT', onInterrupt)
      const w = watch as ReturnType<typeof ended> | null
      const done = await w!.done
      w!.stop()
      process.off('SIGINT', onInterrupt)
      stopProgress()
      reporter.clear()

      const checkpoint = (await api.call('checkpoints.list', { runId: run.id })).checkpoints.at(-1) ?? null
      const { series } = await api.call('runs.metrics', { id: run.id, maxPoints: 100_000 })
      const last = (name: string) => {
        const s = series.find((x) => x.name === name)
        return s && s.step.length > 0 ? { step: s.step.at(-1)!, value: s.value.at(-1)!, wallS: s.wallS.at(-1)! } : undefined
      }
      const progress = last(SERIES.ap)
      const finalPpl = Object.fromEntries(
        series.flatMap((s) => {
          const domain = pplDomain(s.name)
          const i = s.step.indexOf(progress?.step ?? NaN)
          return domain !== null && i >= 0 ? [[domain, s.value[i]!] as const] : []
        })
      )
      let copied: string | null = null
      if (done.status === 'finished' && out && checkpoint) {
        fs.cpSync(checkpoint.path, out, { recursive: true })
        copied = path.resolve(out)
      }
      if (values.json) {
        console.log(JSON.stringify({ run: done, checkpoint: copied ?? checkpoint?.path ?? null, validation: finalPpl, ap: progress?.value ?? null }, null, 2))
      } else {
        const wall = last(SERIES.loss)?.wallS ?? null
        console.log(`run ${done.id} ${done.status}${done.error ? `: ${done.error}` : ''}`)
        if (Object.keys(finalPpl).length > 0) console.log(`final validation: ${describePpl(finalPpl)}`)
        if (wall !== null) console.log(`training time: ${formatDuration(wall)}`)
        if (checkpoint) console.log(`checkpoint: ${copied ?? checkpoint.path}`)
        if (done.status === 'cancelled') console.log(`resume with: elle run --resume ${done.id}`)
      }
      return done.status === 'finished' ? 0 : done.status === 'cancelled' ? 130 : 1
    } finally {
      await api.close()
    }
  }
}
