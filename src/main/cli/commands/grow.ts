import fs from 'node:fs'
import path from 'node:path'
import { DEFAULT_ELLE_NOISE, DEFAULT_RAMP_STEPS } from '../../engine/api/facade'
import { BACKEND_FLAG, intFlag, stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'

const shape = (c: { layers: number; heads: number; hidden: number; ffn: number }): string => `L${c.layers} H${c.heads} d${c.hidden} ffn${c.ffn}`

/** A folder that holds a checkpoint (its config.json): replacing it needs --force. */
function holdsCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json'))
}

export const growCommand: Command = {
  name: 'grow',
  summary: 'Grow a checkpoint wider (heads, FFN) and deeper (layers), function preserving (exact) or as ELLE does (elle).',
  usage: 'elle grow CHECKPOINT --out DIR --mode exact|elle [--add-layers N] [--add-heads N] [--add-ffn N] [--noise SIGMA] [--seed S] [--json]',
  methods: ['checkpoints.grow', 'jobs.cancel'],
  flags: {
    'add-layers': { type: 'string', description: 'layers to insert (each copy sits above its source)', default: '0' },
    'add-heads': { type: 'string', description: 'attention heads to add (hidden = heads * headSize grows with them)', default: '0' },
    'add-ffn': { type: 'string', description: 'FFN units to add (default: keep the ffn/hidden ratio)' },
    mode: { type: 'string', description: 'exact (function preserving) or elle (the reference: random maps + noise)' },
    noise: { type: 'string', description: `elle: std of the symmetry-breaking noise (default ${DEFAULT_ELLE_NOISE}, half the init std)` },
    'global-noise': { type: 'string', description: 'elle: on|off, noise on every tensor too (default: on for BERT, off for GPT)' },
    seed: { type: 'string', description: 'seed of the index maps, layer choice and noise', default: '1' },
    'ramp-steps': { type: 'string', description: 'exact: training steps over which growth masks ramp to 1', default: String(DEFAULT_RAMP_STEPS) },
    optimizer: { type: 'string', description: 'drop (fresh Adam, as ELLE) or grow (carry the moments along the maps)', default: 'drop' },
    out: { type: 'string', short: 'o', description: 'directory for the grown checkpoint' },
    force: { type: 'boolean', description: 'replace DIR if it already holds a checkpoint' },
    db: { type: 'string', description: 'experiment store that records the job (env: ELLE_DB)' },
    backend: BACKEND_FLAG,
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'CHECKPOINT', min: 1, max: 1, missing: 'give exactly one CHECKPOINT directory' },
  async run({ values, positionals }) {
    const [source] = positionals
    if (!source || positionals.length > 1) throw new UsageError('give exactly one CHECKPOINT directory')
    const out = stringFlag(values.out)
    if (!out) throw new UsageError('--out DIR is required')
    const mode = stringFlag(values.mode)
    if (mode !== 'exact' && mode !== 'elle') throw new UsageError(`--mode must be exact or elle, got ${mode === undefined ? 'nothing' : `"${mode}"`}`)
    const count = (name: string): number | undefined => intFlag(values[name], name, { min: 0, max: 100_000 })
    const addLayers = count('add-layers') ?? 0
    const addHeads = count('add-heads') ?? 0
    const addFfn = count('add-ffn')
    const seed = intFlag(values.seed, 'seed', { min: 0, max: 2 ** 31 - 1 }) ?? 1
    const rampSteps = intFlag(values['ramp-steps'], 'ramp-steps', { min: 1, max: 100_000_000 }) ?? DEFAULT_RAMP_STEPS
    const noiseText = stringFlag(values.noise)
    const noise = noiseText === undefined ? undefined : Number(noiseText)
    if (noise !== undefined && !(/^\d*\.?\d+(e-?\d+)?$/i.test(noiseText!) && Number.isFinite(noise))) {
      throw new UsageError(`--noise must be a non-negative number, got "${noiseText}"`)
    }
    const globalText = stringFlag(values['global-noise'])
    if (globalText !== undefined && globalText !== 'on' && globalText !== 'off') throw new UsageError(`--global-noise must be on or off, got "${globalText}"`)
    if (mode === 'exact' && ((noise !== undefined && noise > 0) || globalText === 'on')) {
      throw new UsageError('--noise and --global-noise apply to --mode elle only (exact growth adds no noise)')
    }
    const optimizer = stringFlag(values.optimizer) ?? 'drop'
    if (optimizer !== 'drop' && optimizer !== 'grow') throw new UsageError(`--optimizer must be drop or grow, got "${optimizer}"`)
    const outDir = path.resolve(out)
    if (holdsCheckpoint(outDir) && values.force !== true) throw new UsageError(`${outDir} already holds a checkpoint; add --force to replace it`)

    const api = await openCliApi(growCommand, { db: stringFlag(values.db), backend: stringFlag(values.backend) })
    try {
      const { result: report } = await api.runJob(
        'checkpoints.grow',
        {
          checkpointPath: path.resolve(source),
          outDir,
          mode,
          addLayers,
          addHeads,
          ...(addFfn === undefined ? {} : { addFfn }),
          ...(noise === undefined ? {} : { noise }),
          ...(globalText === undefined ? {} : { globalNoise: globalText === 'on' }),
          seed,
          rampSteps,
          optimizer,
          overwrite: values.force === true
        },
        'grow'
      )
      if (values.json) console.log(JSON.stringify(report, null, 2))
      else {
        const how = mode === 'elle' ? 'elle' : `exact: hidden ${report.hiddenScheme}, inserted layers ${report.depthInit}`
        const masks = report.ramp ? `; masks ramp to 1 over ${report.ramp.steps} steps` : ''
        console.log(`grew ${shape(report.before)} -> ${shape(report.after)} (${how}${masks}; optimizer ${report.optimizer}) into ${report.to}`)
        const a = report.agreement
        if (a)
          console.log(
            `logits before vs after: max |diff| ${a.maxAbsDiff.toExponential(2)} (max |logit| ${a.maxAbsLogit.toFixed(2)}), argmax agreement ${(100 * a.argmaxAgreement).toFixed(1)}%`
          )
      }
      return 0
    } finally {
      await api.close()
    }
  }
}
