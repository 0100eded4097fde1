// `elle queue`: the persistent run queue (issue 14) through the contract's queue.* methods.
import { UsageError, type Command } from '../args'

export const queueCommand: Command = {
  name: 'queue',
  summary: 'The run queue: list, add, move, remove, retry, pause, resume, sweep; --window sets when it trains.',
  usage: 'elle queue [list] | add CONFIG.json | add --preset NAME | move RUN_ID top|bottom|INDEX | remove RUN_ID | retry RUN_ID | pause | resume | sweep ...',
  methods: ['queue.list', 'queue.add', 'queue.move', 'queue.update', 'queue.remove', 'queue.retry', 'queue.pause', 'queue.resume', 'queue.settings', 'queue.sweep'],
  flags: {
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'ARGUMENT', min: 0, max: 3 },
  async run() {
    throw new UsageError('elle queue is not implemented yet')
  }
}
