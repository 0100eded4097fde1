import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BACKEND_FLAG, stringFlag, type Command } from '../args'
import { openCliApi } from '../api'
import { describeBackend } from '../format'

export const backendCommand: Command = {
  name: 'backend',
  summary: 'Show the tensor backend the engine uses, and why each faster one was skipped.',
  usage: 'elle backend [--backend NAME] [--json]',
  methods: ['system.info'],
  flags: {
    backend: BACKEND_FLAG,
    json: { type: 'boolean', description: 'print JSON' }
  },
  async run({ values }) {
    // The backend is the engine's, not a store's: system.info is asked of an engine on a scratch store, so the
    // report does not depend on (or touch) the experiment store, whatever state it is in.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'elle-backend-'))
    try {
      const api = await openCliApi(backendCommand, { db: path.join(scratch, 'scratch.sqlite'), backend: stringFlag(values.backend), scratch: true })
      try {
        const { backend } = await api.call('system.info', {})
        console.log(values.json ? JSON.stringify(backend, null, 2) : describeBackend(backend))
        return 0
      } finally {
        await api.close()
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true })
    }
  }
}
