// `elle worker`: run the queue headless (a machine without a display) until SIGINT/SIGTERM, printing what
// starts, ends and progresses. On the way out, running runs pause at a checkpoint; the next queue runner
// (this command again, the workbench or elle serve) continues them. Everything goes through the contract.
import { stringFlag, type Command } from '../args'
import { openCliApi } from '../api'
import { formatDuration } from '../progress'

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Run the queue headless (no display needed) until interrupted, printing progress.',
  usage: 'elle worker [--db FILE]',
  methods: ['queue.list'],
  flags: {
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' }
  },
  async run({ values }) {
    const api = await openCliApi(workerCommand, { db: stringFlag(values.db), queueRunner: true })
    const stamp = (): string => new Date().toLocaleTimeString()
    const shown = new Map<number, number>()
    const stop = api.onEvent((event) => {
      // finished and failed are said by their notice
      if (event.type === 'run.updated' && event.run.status !== 'finished' && event.run.status !== 'failed')
        console.log(`${stamp()} run ${event.run.id} (${event.run.experimentName}) ${event.run.status}${event.run.error ? `: ${event.run.error.split('\n')[0]}` : ''}`)
      else if (event.type === 'run.notice') console.log(`${stamp()} ${event.notice.message}`)
      else if (event.type === 'run.progress') {
        // one line per tenth of the run, and at each validation
        const p = event.progress
        const tenth = Math.floor((10 * p.step) / p.totalSteps)
        if (shown.get(p.runId) === tenth && p.validation?.step !== p.step) return
        shown.set(p.runId, tenth)
        console.log(`${stamp()} run ${p.runId} step ${p.step}/${p.totalSteps} ${p.domain} loss ${p.loss.toFixed(3)} · ETA ${formatDuration(p.etaS)}`)
      }
    })
    const state = await api.call('queue.list', {})
    const waiting = state.entries.filter((e) => e.state === 'waiting' || e.state === 'paused').length
    // started while the store was opened (a run resumed after a crash comes first)
    for (const e of state.entries.filter((x) => x.state === 'running'))
      console.log(`${stamp()} ${e.kind === 'run' ? `run ${e.runId} (${e.run.experimentName})` : `job ${e.jobId} (${e.what})`} running${e.message ? `: ${e.message}` : ''}`)
    console.log(
      `elle worker: running the queue of ${api.storePath} (${waiting} waiting${state.paused ? ', the queue is PAUSED' : ''}); Ctrl+C stops it (running runs pause at a checkpoint)`
    )
    // the queue's own timers do not keep a process alive: this one does, until a signal
    const alive = setInterval(() => {}, 1 << 30)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    clearInterval(alive)
    console.log(`${stamp()} stopping: running runs pause at a checkpoint and continue at the next start`)
    stop()
    await api.close()
    return 0
  }
}
