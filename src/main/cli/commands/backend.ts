import { backendRequestFromEnv, selectBackend } from '../../engine/backend/select'
import { BACKEND_FLAG, stringFlag, type Command } from '../args'
import { describeBackend } from '../format'

export const backendCommand: Command = {
  name: 'backend',
  summary: 'Show the tensor backend the engine uses, and why each faster one was skipped.',
  usage: 'elle backend [--backend NAME] [--json]',
  flags: {
    backend: BACKEND_FLAG,
    json: { type: 'boolean', description: 'print JSON' }
  },
  async run({ values }) {
    const report = await selectBackend(backendRequestFromEnv(stringFlag(values.backend)))
    console.log(values.json ? JSON.stringify(report, null, 2) : describeBackend(report))
    return 0
  }
}
