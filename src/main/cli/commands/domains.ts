import path from 'node:path'
import type { CorpusSource } from '../../engine/data'
import { defaultDataDir } from '../../engine/paths'
import { addUserDomain, ensureDefaultDomains } from '../../engine/training/data'
import { stringFlag, UsageError, type Command } from '../args'
import { table } from '../format'
import { lacksBuiltinDomains, openStoreForCli } from '../store'

/** `elle domains` lists; `elle domains add NAME PATH...` adds a corpus as a new domain. */
export const domainsCommand: Command = {
  name: 'domains',
  summary: 'List the domains (the built-in default stream and yours), or add one: elle domains add NAME PATH...',
  usage: 'elle domains [--json] | elle domains add NAME PATH... [--format auto|text|jsonl] [--text-field F] [--description TEXT]',
  flags: {
    format: { type: 'string', description: 'corpus format: auto (by extension), text or jsonl', default: 'auto' },
    'text-field': { type: 'string', description: 'JSONL field holding the text', default: 'text' },
    description: { type: 'string', description: 'a note shown with the domain' },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    'data-dir': { type: 'string', description: 'corpora, caches and checkpoints (env: ELLE_DATA_DIR)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  async run({ values, positionals }) {
    const [sub, name, ...paths] = positionals
    if (sub !== undefined && sub !== 'add') throw new UsageError(`unknown subcommand "${sub}"; use "elle domains" or "elle domains add NAME PATH..."`)
    if (sub === 'add' && (!name || paths.length === 0)) throw new UsageError('usage: elle domains add NAME PATH... (files, folders or .jsonl)')
    const format = stringFlag(values.format) ?? 'auto'
    if (!['auto', 'text', 'jsonl'].includes(format)) throw new UsageError(`--format must be auto, text or jsonl, got "${format}"`)
    const dataDir = path.resolve(stringFlag(values['data-dir']) ?? defaultDataDir())
    // listing only reads, unless the built-in domains still have to be registered in the store
    const store = openStoreForCli(stringFlag(values.db), sub === 'add' ? {} : { readonly: true, writeIf: lacksBuiltinDomains })
    try {
      if (sub === 'add') {
        const source: CorpusSource = { paths, format: format as CorpusSource['format'], textField: stringFlag(values['text-field']) ?? 'text' }
        const added = await addUserDomain(store, dataDir, { name: name!, source, description: stringFlag(values.description) })
        if (values.json) console.log(JSON.stringify(added, null, 2))
        else console.log(`added domain "${added.name}": ${added.documents} documents, ${added.tokens.toLocaleString('en')} tokens, prompt slot ${added.promptSlot}`)
        return 0
      }
      await ensureDefaultDomains(store, dataDir, (m) => console.error(m))
      const domains = store.listDomains()
      if (values.json) console.log(JSON.stringify({ domains }, null, 2))
      else
        console.log(
          table(
            ['domain', 'prompt', 'files', 'MB', 'tokens', 'description'],
            domains.map((d) => [d.name, d.promptSlot, d.files, (d.bytes / 1e6).toFixed(2), d.tokens?.toLocaleString('en') ?? null, d.description ?? (d.builtin ? 'built-in' : '')])
          )
        )
      return 0
    } finally {
      store.close()
    }
  }
}
