import path from 'node:path'
import { stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'
import { formatBytes } from './export'

export const importCommand: Command = {
  name: 'import',
  summary: 'Import a Hugging Face model directory (as written by elle export) into a checkpoint.',
  usage: 'elle import HF_DIR --out DIR [--force] [--json]',
  methods: ['checkpoints.import', 'jobs.cancel'],
  flags: {
    out: { type: 'string', short: 'o', description: 'checkpoint directory to write (must not exist or be empty, unless --force)' },
    force: { type: 'boolean', description: 'replace DIR if it already holds a checkpoint' },
    db: { type: 'string', description: 'experiment store that records the job (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'HF_DIR', min: 1, max: 1, missing: 'missing HF_DIR (a Hugging Face model directory)' },
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError('missing HF_DIR (a Hugging Face model directory)')
    const out = stringFlag(values.out)
    if (!out) throw new UsageError('--out DIR is required')
    const api = await openCliApi(importCommand, { db: stringFlag(values.db) })
    try {
      const { result } = await api.runJob('checkpoints.import', { path: path.resolve(positionals[0]!), outDir: path.resolve(out), overwrite: values.force === true }, 'import')
      if (values.json) console.log(JSON.stringify(result, null, 2))
      else {
        const c = result.config
        console.log(
          `imported ${result.architecture} (${c.layers} layers, hidden ${c.hidden}, vocab ${c.vocabSize}) into ${result.path} (${formatBytes(result.bytes)}, sha256 ${result.sha256.slice(0, 12)}; no optimizer state)`
        )
      }
      return 0
    } finally {
      await api.close()
    }
  }
}
