import path from 'node:path'
import { backendRequestFromEnv, selectBackend } from '../../engine/backend/select'
import { loadCheckpoint } from '../../engine/checkpoint/checkpoint'
import { readTextFile, type PromptMode } from '../../engine/data'
import { restoreModel } from '../../engine/checkpoint/restore'
import { defaultDataDir } from '../../engine/paths'
import { loadRunData } from '../../engine/training/data'
import { evaluate, evaluationSet } from '../../engine/training/evaluate'
import { BACKEND_FLAG, intFlag, stringFlag, UsageError, type Command } from '../args'
import { lacksBuiltinDomains, openStoreForCli } from '../store'

export const evalCommand: Command = {
  name: 'eval',
  summary: "Loss and perplexity of a checkpoint on a domain's validation split or on any text file.",
  usage: 'elle eval CHECKPOINT (--domain NAME | --text FILE) [--prompt DOMAIN|off] [--max-sequences N] [--json]',
  flags: {
    domain: { type: 'string', description: "evaluate on this domain's validation split, with its prompt" },
    text: { type: 'string', description: "evaluate on a UTF-8 text file, with the checkpoint's tokenizer" },
    prompt: { type: 'string', description: 'for --text: prepend this domain\'s prompt ("off" = none)', default: 'off' },
    'max-sequences': { type: 'string', description: 'evaluate at most N sequences', default: '512' },
    db: { type: 'string', description: 'experiment store, for --domain (env: ELLE_DB)' },
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
    const backend = await selectBackend(backendRequestFromEnv(stringFlag(values.backend)))

    const checkpoint = await loadCheckpoint(path.resolve(checkpointDir), { optimizer: false })
    const model = restoreModel(checkpoint)
    try {
      const tokenizer = checkpoint.tokenizer
      const seqLen = checkpoint.config.maxLength
      let split: { tokens: Uint32Array | Uint16Array | Int32Array; offsets: Uint32Array; domain: string; split: 'validation' }
      let promptSlot: number | undefined
      let prompt: PromptMode = 'off'
      if (domain !== undefined) {
        const dataDir = stringFlag(values['data-dir']) ?? defaultDataDir()
        // reads, unless the built-in domains still have to be registered
        const store = openStoreForCli(stringFlag(values.db), { readonly: true, writeIf: lacksBuiltinDomains })
        try {
          const data = await loadRunData(store, path.resolve(dataDir), [domain])
          if (data.tokenizer.hash !== tokenizer.hash) throw new Error(`domain "${domain}" is tokenized with a different tokenizer than ${checkpointDir}`)
          const d = data.domains.get(domain)!
          split = { tokens: d.validation.tokens, offsets: d.validation.offsets, domain, split: 'validation' }
          promptSlot = d.promptSlot
          prompt = 'own'
        } finally {
          store.close()
        }
      } else {
        const text = readTextFile(path.resolve(textFile!)) // names the file if it is empty, binary or not UTF-8
        const ids = tokenizer.encode(text)
        split = { tokens: Uint32Array.from(ids), offsets: Uint32Array.from([0, ids.length]), domain: path.basename(textFile!), split: 'validation' }
        const promptName = stringFlag(values.prompt) ?? 'off'
        if (promptName !== 'off') {
          const store = openStoreForCli(stringFlag(values.db), { readonly: true })
          const found = store.findDomain(promptName)
          store.close()
          if (!found || found.promptSlot === null) throw new UsageError(`--prompt: unknown domain "${promptName}"`)
          promptSlot = found.promptSlot
          prompt = 'own'
        }
      }
      const inputs = evaluationSet(model, tokenizer, split as never, { seqLen, batchSize: 16, maxSequences, promptSlot, prompt, seed: 0 })
      if (inputs.length === 0) throw new Error(`the text is too short: it needs at least ${seqLen} tokens for one sequence`)
      const result = await evaluate(model, inputs, tokenizer.specialIds.pad)
      const report = { checkpoint: path.resolve(checkpointDir), on: domain ?? path.resolve(textFile!), backend: backend.active, ...result }
      if (values.json) console.log(JSON.stringify(report, null, 2))
      else console.log(`loss ${result.loss.toFixed(4)}  perplexity ${result.ppl.toFixed(3)}  tokens ${result.tokens.toLocaleString('en')}  sequences ${result.sequences}`)
      return 0
    } finally {
      model.dispose()
    }
  }
}
