import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline/promises'
import type { RunSummary } from '../../../shared/contract'
import { pplDomain, SERIES } from '../../../shared/metrics'
import { backendRequestFromEnv } from '../../engine/backend/select'
import { Engine, ResumableRunError } from '../../engine/engine'
import { ConfigError, quickRunConfig, SIZES, StageConfig, TrainingSettings, type RunConfig, type SizeName } from '../../engine/training/config'
import { findPreset, PRESETS, type Preset } from '../../engine/training/presets'
import { BACKEND_FLAG, intFlag, stringFlag, UsageError, type Command } from '../args'
import { describePpl, formatDuration, ProgressReporter } from '../progress'
import { announceNewStore, cliStorePath } from '../store'

function readConfigFile(file: string): unknown {
  let text: string
  try {
    // editors on Windows save UTF-8 with a byte-order mark, which JSON.parse refuses
    text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '')
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`)
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

function findPresetOrUsage(name: string): Preset {
  try {
    return findPreset(name)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
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
    const config = resumeId !== undefined ? null : preset !== undefined ? findPresetOrUsage(preset).config : positionals[0] ? readConfigFile(positionals[0]) : quickConfig(values)

    const reporter = new ProgressReporter()
    const dataDir = stringFlag(values['data-dir'])
    const storePath = cliStorePath(stringFlag(values.db))
    const engine = await Engine.open({
      dbPath: storePath.path,
      dataDir: dataDir ? path.resolve(dataDir) : undefined,
      backend: backendRequestFromEnv(stringFlag(values.backend)),
      log: (_id, message) => reporter.message(message)
    })
    announceNewStore(storePath)
    try {
      let run: RunSummary
      if (resumeId !== undefined) run = engine.resumeRun(resumeId)
      else {
        try {
          run = engine.startRun(config, { fresh: values.fresh === true })
        } catch (error) {
          if (!(error instanceof ResumableRunError) || !process.stdin.isTTY || !process.stderr.isTTY) throw error
          const resume = await askYesNo(`Run ${error.run.id} of this experiment stopped at step ${error.step} (${error.run.status}). Resume it?`)
          run = resume ? engine.resumeRun(error.run.id) : engine.startRun(config, { fresh: true })
        }
      }
      reporter.message(`run ${run.id} (${run.experimentName}) on ${engine.backend.active}; store ${engine.store.path}`)
      const stopProgress = engine.events.subscribe((event) => {
        if (event.type === 'run.progress' && event.progress.runId === run.id) reporter.update(event.progress)
      })
      let interrupts = 0
      const onInterrupt = (): void => {
        interrupts += 1
        if (interrupts > 1) process.exit(130)
        reporter.message('cancelling: finishing the current update and writing a checkpoint (Ctrl+C again to quit at once)')
        engine.cancelRun(run.id)
      }
      process.on('SIGINT', onInterrupt)
      const done = await engine.host.waitFor(run.id)
      process.off('SIGINT', onInterrupt)
      stopProgress()
      reporter.clear()

      const checkpoint = engine.store.listCheckpoints(run.id).at(-1) ?? null
      const progress = engine.store.readMetrics(run.id, { name: SERIES.ap }).at(-1)
      const finalPpl = Object.fromEntries(
        engine.store
          .readMetrics(run.id)
          .filter((p) => pplDomain(p.name) !== null && p.step === progress?.step)
          .map((p) => [pplDomain(p.name)!, p.value])
      )
      let copied: string | null = null
      if (done.status === 'finished' && out && checkpoint) {
        fs.cpSync(checkpoint.path, out, { recursive: true })
        copied = path.resolve(out)
      }
      if (values.json) {
        console.log(JSON.stringify({ run: done, checkpoint: copied ?? checkpoint?.path ?? null, validation: finalPpl, ap: progress?.value ?? null }, null, 2))
      } else {
        const wall = engine.store.readMetrics(run.id, { name: SERIES.loss }).at(-1)?.wallS ?? null
        console.log(`run ${done.id} ${done.status}${done.error ? `: ${done.error}` : ''}`)
        if (Object.keys(finalPpl).length > 0) console.log(`final validation: ${describePpl(finalPpl)}`)
        if (wall !== null) console.log(`training time: ${formatDuration(wall)}`)
        if (checkpoint) console.log(`checkpoint: ${copied ?? checkpoint.path}`)
        if (done.status === 'cancelled') console.log(`resume with: elle run --resume ${done.id}`)
      }
      return done.status === 'finished' ? 0 : done.status === 'cancelled' ? 130 : 1
    } finally {
      await engine.close()
    }
  }
}
