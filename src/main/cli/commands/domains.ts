import path from 'node:path'
import { DOMAIN_DESCRIPTION_MAX, DOMAIN_NAME_MAX, DOMAIN_NAME_PATTERN, DOMAIN_PATHS_MAX, type DomainDetail } from '../../../shared/contract'
import { intFlag, stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'
import { table } from '../format'
import { lacksBuiltinDomains } from '../store'

// the positionals' name; the flags of `add` need them
const ADD = 'add NAME PATH...'

/**
 * `elle domains` lists; `elle domains add NAME PATH...` adds a corpus as a new domain; `elle domains show NAME` prints one's facts;
 * `elle domains rename OLD NEW` renames one; `elle domains delete NAME` deletes one.
 */
export const domainsCommand: Command = {
  name: 'domains',
  summary:
    'List the domains (the built-in default stream and yours), add one (elle domains add NAME PATH...), show one (elle domains show NAME), rename one (elle domains rename OLD NEW) or delete one (elle domains delete NAME).',
  usage:
    'elle domains [--json] | elle domains add NAME PATH... [--format auto|text|jsonl] [--text-field F] [--description TEXT] | elle domains show NAME | elle domains rename OLD NEW | elle domains delete NAME',
  methods: ['domains.list', 'streams.prepareDefault', 'domains.addJob', 'domains.get', 'domains.rename', 'domains.delete', 'jobs.cancel'],
  flags: {
    format: { type: 'string', description: 'corpus format: auto (by extension), text or jsonl', default: 'auto', requires: ADD },
    'text-field': { type: 'string', description: 'JSONL field holding the text', default: 'text', requires: ADD },
    description: { type: 'string', description: `a note shown with the domain (at most ${DOMAIN_DESCRIPTION_MAX} characters)`, requires: ADD },
    'max-file-bytes': { type: 'string', description: 'largest corpus file read, in bytes (env: ELLE_CORPUS_MAX_FILE_BYTES)', default: '256 MiB', requires: ADD },
    'max-domain-bytes': { type: 'string', description: 'largest corpus in all, in bytes (env: ELLE_CORPUS_MAX_DOMAIN_BYTES)', default: '2 GiB', requires: ADD },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    'data-dir': { type: 'string', description: 'corpora, caches and checkpoints (env: ELLE_DATA_DIR)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: ADD, min: 0, max: Infinity },
  async run({ values, positionals }) {
    const [sub, name, ...paths] = positionals
    if (sub !== undefined && !['add', 'show', 'rename', 'delete'].includes(sub))
      throw new UsageError(
        `unknown subcommand "${sub}"; use "elle domains", "elle domains add NAME PATH...", "elle domains show NAME", "elle domains rename OLD NEW" or "elle domains delete NAME"`
      )
    if (sub === 'add' && (!name || paths.length === 0)) throw new UsageError('usage: elle domains add NAME PATH... (files, folders or .jsonl)')
    if ((sub === 'delete' || sub === 'show') && (!name || paths.length > 0)) throw new UsageError(`usage: elle domains ${sub} NAME`)
    if (sub === 'rename' && (!name || paths.length !== 1 || paths[0] === '')) throw new UsageError('usage: elle domains rename OLD NEW')
    if (sub !== undefined && sub !== 'add' && Object.keys(values).some((k) => !['db', 'data-dir', 'json'].includes(k) && values[k] !== undefined))
      throw new UsageError(`elle domains ${sub} takes only --db, --data-dir and --json`)
    if (sub === 'rename' && !DOMAIN_NAME_PATTERN.test(paths[0]!))
      throw new UsageError(`the new name "${paths[0]}" must be 1-64 letters, digits, "-" or "_", starting with a letter or digit`)
    const format = stringFlag(values.format) ?? 'auto'
    if (!['auto', 'text', 'jsonl'].includes(format)) throw new UsageError(`--format must be auto, text or jsonl, got "${format}"`)
    // the limits of the API's domains.add, checked before the store is opened
    if (name !== undefined && name.length > DOMAIN_NAME_MAX) throw new UsageError(`the domain name must be at most ${DOMAIN_NAME_MAX} characters, got ${name.length}`)
    if (paths.length > DOMAIN_PATHS_MAX) throw new UsageError(`give at most ${DOMAIN_PATHS_MAX} PATHs, got ${paths.length}`)
    if (paths.some((p) => p === '')) throw new UsageError('a PATH is empty')
    const textField = stringFlag(values['text-field']) ?? 'text'
    if (textField === '') throw new UsageError('--text-field must not be empty')
    const description = stringFlag(values.description)
    if (description !== undefined && description.length > DOMAIN_DESCRIPTION_MAX) {
      throw new UsageError(`--description must be at most ${DOMAIN_DESCRIPTION_MAX} characters, got ${description.length}`)
    }
    const maxFileBytes = intFlag(values['max-file-bytes'], 'max-file-bytes', { min: 1, max: Number.MAX_SAFE_INTEGER })
    const maxDomainBytes = intFlag(values['max-domain-bytes'], 'max-domain-bytes', { min: 1, max: Number.MAX_SAFE_INTEGER })
    const dataDir = stringFlag(values['data-dir'])
    const db = stringFlag(values.db)
    // listing only reads, unless the built-in domains still have to be registered in the store
    const api = await openCliApi(
      domainsCommand,
      sub === undefined
        ? { db, dataDir: dataDir && path.resolve(dataDir), readonly: true, writeIf: lacksBuiltinDomains }
        : { db, dataDir: dataDir && path.resolve(dataDir), readonly: sub === 'show' }
    )
    try {
      if (sub === 'show') {
        const domain = await api.call('domains.get', { name: name! })
        if (values.json) console.log(JSON.stringify(domain, null, 2))
        else console.log(describeDomain(domain))
        return 0
      }
      if (sub === 'rename') {
        const renamed = await api.call('domains.rename', { name: name!, newName: paths[0]! })
        if (values.json) console.log(JSON.stringify(renamed, null, 2))
        else console.log(`renamed domain "${name}" to "${renamed.name}"`)
        return 0
      }
      if (sub === 'add') {
        const params = {
          name: name!,
          paths: paths.map((p) => path.resolve(p)),
          format: format as 'auto' | 'text' | 'jsonl',
          textField,
          ...(description === undefined ? {} : { description }),
          ...(maxFileBytes === undefined ? {} : { maxFileBytes }),
          ...(maxDomainBytes === undefined ? {} : { maxDomainBytes })
        }
        const { result: added } = await api.runJob('domains.addJob', params, 'domain.add')
        if (values.json) console.log(JSON.stringify(added, null, 2))
        else {
          console.log(`added domain "${added.name}": ${added.documents} documents, ${added.tokens.toLocaleString('en')} tokens, prompt slot ${added.promptSlot}`)
          for (const s of added.skipped) console.error(`skipped ${s.file}: ${s.reason}`)
        }
        return 0
      }
      if (sub === 'delete') {
        const deleted = await api.call('domains.delete', { name: name! })
        if (values.json) console.log(JSON.stringify(deleted, null, 2))
        else console.log(`deleted domain "${deleted.name}"`)
        return 0
      }
      if (await lacksBuiltinDomains(api)) await api.runJob('streams.prepareDefault', {}, 'stream.prepare')
      const { domains } = await api.call('domains.list', {})
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
      await api.close()
    }
  }
}

/** The facts `elle domains show` prints: sizes, splits, prompt slot, task, streams, runs and a preview. */
function describeDomain(d: DomainDetail): string {
  const count = (n: number | null): string => (n === null ? 'not counted' : n.toLocaleString('en'))
  const lines = [
    `domain ${d.id} "${d.name}"${d.builtin ? ' (built-in)' : ''}${d.description ? `: ${d.description}` : ''}`,
    `  files ${d.files}, ${(d.bytes / 1e6).toFixed(2)} MB, ${count(d.documents)} documents, ${count(d.tokens)} tokens, prompt slot ${d.promptSlot ?? 'none'}`,
    d.splits
      ? `  split: ${(['train', 'validation', 'test'] as const).map((s) => `${s} ${d.splits![s].documents} documents / ${d.splits![s].tokens.toLocaleString('en')} tokens`).join(', ')}`
      : '  split: not tokenized with the current tokenizer yet',
    ...(d.source ? [`  source: ${d.source.paths.join(', ')} (${d.source.format}${d.source.textField ? `, field "${d.source.textField}"` : ''})`] : []),
    `  labelled task: ${d.tasks.length > 0 ? d.tasks.join(', ') : 'none'}`,
    `  streams: ${d.streams.length > 0 ? d.streams.map((s) => `"${s.name}"`).join(', ') : 'none'}`,
    `  runs: ${d.runs.length > 0 ? d.runs.map((r) => `${r.id} ${r.name} (${r.status})`).join(', ') : 'none'}`,
    d.previewProblem ? `  preview: ${d.previewProblem}` : '  preview:',
    ...d.preview.map((p) => `    [${p.id}] ${p.text.replace(/\s+/g, ' ').slice(0, 200)}${p.truncated || p.text.length > 200 ? '…' : ''}`)
  ]
  return lines.join('\n')
}
