// `elle streams`: the named, ordered lists of domains runs follow (streams.list/create/update/delete).
import { STREAM_DOMAINS_MAX, STREAM_NAME_MAX, type StreamSummary } from '../../../shared/contract'
import { stringFlag, UsageError, type Command } from '../args'
import { openCliApi, type CliApi } from '../api'
import { table } from '../format'

const ARGS = 'SUBCOMMAND ARGS...'
const USAGE =
  'elle streams [list] | elle streams create NAME DOMAIN... | elle streams update STREAM [--name NEW] [--domains A,B,...] | elle streams duplicate STREAM NAME | elle streams delete STREAM'

/** A stream named by id (digits) or by name; unknown is not_found, as the API says it. */
async function findStream(api: CliApi, ref: string): Promise<StreamSummary> {
  const { streams } = await api.call('streams.list', {})
  const found = /^\d+$/.test(ref) ? streams.find((s) => s.id === Number(ref)) : streams.find((s) => s.name === ref)
  if (!found) throw new Error(`no stream ${/^\d+$/.test(ref) ? `with id ${ref}` : `named "${ref}"`}; see "elle streams"`)
  return found
}

function checkName(name: string, what: string): string {
  if (name.trim() === '' || name.length > STREAM_NAME_MAX) throw new UsageError(`${what} must be 1 to ${STREAM_NAME_MAX} characters`)
  return name
}

function checkDomains(domains: string[]): string[] {
  if (domains.length === 0 || domains.length > STREAM_DOMAINS_MAX) throw new UsageError(`a stream lists 1 to ${STREAM_DOMAINS_MAX} domains, got ${domains.length}`)
  if (domains.some((d) => d === '')) throw new UsageError('a DOMAIN is empty')
  return domains
}

function describe(stream: StreamSummary): string {
  return `stream ${stream.id} "${stream.name}": ${stream.domains.join(' → ')}`
}

export const streamsCommand: Command = {
  name: 'streams',
  summary: 'List, create, change, duplicate or delete streams: named, ordered lists of domains that runs follow.',
  usage: USAGE,
  methods: ['streams.list', 'streams.create', 'streams.update', 'streams.duplicate', 'streams.delete'],
  flags: {
    name: { type: 'string', description: 'update: the new name', requires: ARGS },
    domains: { type: 'string', description: 'update: the new domains, comma-separated, in training order', requires: ARGS },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: ARGS, min: 0, max: Infinity },
  async run({ values, positionals }) {
    const [sub = 'list', ...rest] = positionals
    if (!['list', 'create', 'update', 'duplicate', 'delete'].includes(sub)) throw new UsageError(`unknown subcommand "${sub}"; usage: ${USAGE}`)
    if (sub !== 'update' && (values.name !== undefined || values.domains !== undefined)) throw new UsageError('--name and --domains go with elle streams update')
    if (sub === 'list' && rest.length > 0) throw new UsageError(`elle streams list takes no arguments, got "${rest[0]}"`)
    if (sub === 'create' && rest.length < 2) throw new UsageError('usage: elle streams create NAME DOMAIN...')
    if (sub === 'duplicate' && rest.length !== 2) throw new UsageError("usage: elle streams duplicate STREAM NAME (the stream by id or name, and the copy's name)")
    if ((sub === 'update' || sub === 'delete') && rest.length !== 1) throw new UsageError(`usage: elle streams ${sub} STREAM (its id or name)`)
    const newName = stringFlag(values.name)
    const newDomains = stringFlag(values.domains)
    if (sub === 'update' && newName === undefined && newDomains === undefined) throw new UsageError('elle streams update needs --name or --domains')
    const create = sub === 'create' ? { name: checkName(rest[0]!, 'NAME'), domains: checkDomains(rest.slice(1)) } : null
    const update =
      sub === 'update'
        ? { name: newName === undefined ? undefined : checkName(newName, '--name'), domains: newDomains === undefined ? undefined : checkDomains(newDomains.split(',')) }
        : null

    const api = await openCliApi(streamsCommand, { db: stringFlag(values.db), readonly: sub === 'list' })
    try {
      let changed: StreamSummary | null = null
      if (create) changed = await api.call('streams.create', create)
      else if (update) {
        const stream = await findStream(api, rest[0]!)
        changed = await api.call('streams.update', {
          id: stream.id,
          ...(update.name === undefined ? {} : { name: update.name }),
          ...(update.domains === undefined ? {} : { domains: update.domains })
        })
      } else if (sub === 'duplicate') {
        changed = await api.call('streams.duplicate', { id: (await findStream(api, rest[0]!)).id, name: checkName(rest[1]!, 'NAME') })
      } else if (sub === 'delete') changed = await api.call('streams.delete', { id: (await findStream(api, rest[0]!)).id })
      if (changed) {
        if (values.json) console.log(JSON.stringify(changed, null, 2))
        else console.log(`${{ create: 'created', update: 'changed', duplicate: 'created', delete: 'deleted' }[sub] ?? sub} ${describe(changed)}`)
        return 0
      }
      const { streams } = await api.call('streams.list', {})
      if (values.json) console.log(JSON.stringify({ streams }, null, 2))
      else if (streams.length === 0) console.log('no streams yet')
      else
        console.log(
          table(
            ['id', 'stream', 'domains', 'runs', 'built-in'],
            streams.map((s) => [s.id, s.name, s.domains.join(' → '), s.runCount, s.builtin ? 'yes' : ''])
          )
        )
      return 0
    } finally {
      await api.close()
    }
  }
}
