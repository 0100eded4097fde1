// `elle worker`: run the queue headless until interrupted (issue 14).
import { UsageError, type Command } from '../args'

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Run the queue headless (no display needed) until interrupted, printing progress.',
  usage: 'elle worker [--db FILE]',
  methods: ['queue.list', 'queue.settings'],
  flags: {
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' }
  },
  async run() {
    throw new UsageError('elle worker is not implemented yet')
  }
}
