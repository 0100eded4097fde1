// `elle views`: the saved views of the comparison and runs table (views.list/get/save/delete). A view's link in
// the workbench is #/compare?view=ID.
import fs from 'node:fs'
import { stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'
import { table } from '../format'

const USAGE = 'elle views [list] | show ID | save NAME STATE.json [--id ID] | delete ID'
const SUBCOMMANDS: Record<string, number> = { list: 0, show: 1, save: 2, delete: 1 }

function id(value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${what} must be a positive integer, got "${value}"`)
  return Number(value)
}

export const viewsCommand: Command = {
  name: 'views',
  summary: 'Saved views of the comparison and the runs table: list, show (the state as JSON), save, delete.',
  usage: USAGE,
  methods: ['views.list', 'views.get', 'views.save', 'views.delete'],
  flags: {
    id: { type: 'string', description: 'save: replace the saved view with this id' },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'SUBCOMMAND ARGS...', min: 0, max: Infinity },
  async run({ values, positionals }) {
    const [sub = 'list', ...rest] = positionals
    if (!(sub in SUBCOMMANDS)) throw new UsageError(`unknown subcommand "${sub}"; usage: ${USAGE}`)
    if (rest.length !== SUBCOMMANDS[sub]) throw new UsageError(`usage: ${USAGE}`)
    if (values.id !== undefined && sub !== 'save') throw new UsageError('--id goes with elle views save')
    let state: unknown = null
    if (sub === 'save') {
      try {
        state = JSON.parse(fs.readFileSync(rest[1]!, 'utf8')) as unknown
      } catch (e) {
        throw new UsageError(`cannot read the view state ${rest[1]}: ${(e as Error).message}`)
      }
    }
    const api = await openCliApi(viewsCommand, { db: stringFlag(values.db), readonly: sub === 'list' || sub === 'show' })
    try {
      if (sub === 'list') {
        const { views } = await api.call('views.list', {})
        if (values.json) console.log(JSON.stringify({ views }, null, 2))
        else if (views.length === 0) console.log(`no saved views yet in ${api.storePath}`)
        else
          console.log(
            table(
              ['id', 'name', 'link', 'updated'],
              views.map((v) => [v.id, v.name, `#/compare?view=${v.id}`, v.updatedAt])
            )
          )
      } else if (sub === 'show') {
        const view = await api.call('views.get', { id: id(rest[0]!, 'ID') })
        if (view.missingRuns.length > 0) console.error(`note: this view names runs that no longer exist: ${view.missingRuns.map((r) => `#${r}`).join(', ')}`)
        console.log(JSON.stringify(view.state, null, 2))
      } else {
        const replace = stringFlag(values.id)
        const view =
          sub === 'save'
            ? await api.call('views.save', { ...(replace ? { id: id(replace, '--id') } : {}), name: rest[0]!, state: state as never })
            : await api.call('views.delete', { id: id(rest[0]!, 'ID') })
        console.log(values.json ? JSON.stringify(view, null, 2) : `${sub === 'save' ? 'saved' : 'deleted'} view ${view.id} "${view.name}"`)
      }
      return 0
    } finally {
      await api.close()
    }
  }
}
