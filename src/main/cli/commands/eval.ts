import path from 'node:path'
import { BACKEND_FLAG, intFlag, stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'

export const evalCommand: Command = {
  name: 'eval',
  summary: "Loss and perplexity of a checkpoint on a domain's validation split or on any text file.",
  usage: 'elle eval CHECKPOINT (--domain NAME | --text FILE) [--prompt DOMAIN|off] [--max-sequences N] [--json]',
  methods: ['checkpoints.evaluate', 'jobs.cancel'],
  flags: {
    domain: { type: 'string', description: "evaluate on this domain's validation split, with its prompt" },
    text: { type: 'string', description: "evaluate on a UTF-8 text file, with the checkpoint's tokenizer" },
    prompt: { type: 'string', description: 'for --text: prepend this domain\'s prompt ("off" = none)', default: 'off' },
    'max-sequences': { type: 'string', description: 'evaluate at most N sequences', default: '512' },
    db: { type: 'string', description: 'experiment store: records the job, and knows the domains (env: ELLE_DB)' },
    'data-dir': { type: 'string', description: 'corpora and caches, for --domain (env: ELLE_DATA_DIR)' },
    backend: BACKEND_FLAG,
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'CHECKPOINT', min: 1, max: 1, missing: 'give exactly one CHECKPOINT directory' },
  exclusive: [
    [
      ['domain', 'data-dir'],
      ['text', 'prompt']
    ]
  ],
  async run({ values, positionals }) {
    const [checkpointDir] = positionals
    if (!checkpointDir || positionals.length > 1) throw new UsageError('give exactly one CHECKPOINT directory')
    const domain = stringFlag(values.domain)
    const textFile = stringFlag(values.text)
    if ((domain === undefined) === (textFile === undefined)) throw new UsageError('give exactly one of --domain NAME or --text FILE')
    const maxSequences = intFlag(values['max-sequences'], 'max-sequences', { min: 1, max: 1_000_000 }) ?? 512
    const prompt = stringFlag(values.prompt) ?? 'off'
    const dataDir = stringFlag(values['data-dir'])
    const api = await openCliApi(evalCommand, { db: stringFlag(values.db), dataDir: dataDir && path.resolve(dataDir), backend: stringFlag(values.backend) })
    try {
      const params = domain !== undefined ? { domain } : { textPath: path.resolve(textFile!), ...(prompt === 'off' ? {} : { prompt }) }
      const { result } = await api.runJob('checkpoints.evaluate', { checkpointPath: path.resolve(checkpointDir), maxSequences, ...params }, 'evaluate')
      const report = { ...result, backend: api.backend.active }
      if (values.json) console.log(JSON.stringify(report, null, 2))
      else
        console.log(
          `loss ${result.loss.toFixed(4)}  perplexity ${result.ppl.toFixed(3)}${result.ci ? ` (95% CI ${result.ci.lo.toFixed(3)}-${result.ci.hi.toFixed(3)})` : ''}  tokens ${result.tokens.toLocaleString('en')}  sequences ${result.sequences}`
        )
      return 0
    } finally {
      await api.close()
    }
  }
}
