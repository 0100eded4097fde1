import { BACKEND_FLAG, stringFlag, type Command } from '../args'
import { openCliApi } from '../api'
import { describeBackend } from '../format'

export const backendCommand: Command = {
  name: 'backend',
  summary: 'Show the tensor backend the engine uses, and why each faster one was skipped.',
  usage: 'elle backend [--backend NAME] [--db FILE] [--json]',
  methods: ['system.info'],
  flags: {
    backend: BACKEND_FLAG,
    db: { type: 'string', description: 'experiment store, opened read-only (env: ELLE_DB; default: the data directory)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  async run({ values }) {
    const api = await openCliApi(backendCommand, { db: stringFlag(values.db), backend: stringFlag(values.backend), readonly: true })
    try {
      const { backend } = await api.call('system.info', {})
      console.log(values.json ? JSON.stringify(backend, null, 2) : describeBackend(backend))
      return 0
    } finally {
      await api.close()
    }
  }
}
