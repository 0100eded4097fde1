import path from 'node:path'
import { stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'

const FORMATS = ['hf'] as const

export const exportCommand: Command = {
  name: 'export',
  summary: 'Export a checkpoint as a Hugging Face model (BertForMaskedLM / GPT2LMHeadModel).',
  usage: 'elle export CHECKPOINT --out DIR [--format hf] [--force] [--json]',
  methods: ['checkpoints.export', 'jobs.cancel'],
  flags: {
    format: { type: 'string', description: `output format: ${FORMATS.join(', ')} (Hugging Face transformers)`, default: 'hf' },
    out: { type: 'string', short: 'o', description: 'directory to write (must not exist or be empty, unless --force)' },
    force: { type: 'boolean', description: 'replace DIR if it already holds a Hugging Face model' },
    db: { type: 'string', description: 'experiment store that records the job (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'CHECKPOINT', min: 1, max: 1, missing: 'missing CHECKPOINT (a checkpoint directory)' },
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError('missing CHECKPOINT (a checkpoint directory)')
    const format = stringFlag(values.format) ?? 'hf'
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`)
    const out = stringFlag(values.out)
    if (!out) throw new UsageError('--out DIR is required')
    const api = await openCliApi(exportCommand, { db: stringFlag(values.db) })
    try {
      const params = { checkpointPath: path.resolve(positionals[0]!), format: 'hf' as const, outDir: path.resolve(out), overwrite: values.force === true }
      const { result } = await api.runJob('checkpoints.export', params, 'export')
      if (values.json) console.log(JSON.stringify(result, null, 2))
      else {
        console.log(
          `exported ${result.architecture} to ${result.path} (${result.files.length} files, ${formatBytes(result.bytes)}; checkpoint sha256 ${result.checkpointSha256.slice(0, 12)})`
        )
      }
      return 0
    } finally {
      await api.close()
    }
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}
