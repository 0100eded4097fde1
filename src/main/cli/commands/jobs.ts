// `elle jobs`: the recorded jobs (evaluate, fine-tune, grow, export, …) of every client: jobs.list/get/cancel.
import { JOB_KINDS, JOB_STATUSES, JOBS_LIST_MAX, type JobKind, type JobStatus, type JobSummary } from '../../../shared/contract'
import { intFlag, stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'
import { table } from '../format'
import { formatDuration } from '../progress'

const ARGS = 'list | get ID | cancel ID'

function describeJob(job: JobSummary): string {
  const lines = [`job ${job.id} (${job.kind}) ${job.status}${job.error ? `: ${job.error}` : ''}`, `params: ${JSON.stringify(job.params)}`]
  if (job.progress && (job.status === 'running' || job.status === 'queued'))
    lines.push(
      `progress: ${job.progress.fraction === null ? '' : `${(job.progress.fraction * 100).toFixed(0)}% `}${job.progress.message}${job.progress.etaS === null ? '' : ` · ETA ${formatDuration(job.progress.etaS)}`}`
    )
  if (job.result) lines.push(`result: ${JSON.stringify(job.result)}`)
  lines.push(`created ${job.createdAt}${job.startedAt ? ` · started ${job.startedAt}` : ''}${job.endedAt ? ` · ended ${job.endedAt}` : ''}`)
  return lines.join('\n')
}

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'List the recorded jobs (evaluate, fine-tune, grow, export, import, …), show one, or cancel one.',
  usage: 'elle jobs [list] [--status STATUS] [--kind KIND] [--limit N] | elle jobs get ID | elle jobs cancel ID   [--db FILE] [--json]',
  methods: ['jobs.list', 'jobs.get', 'jobs.cancel'],
  flags: {
    status: { type: 'string', description: `list: only jobs with this status (${JOB_STATUSES.join(', ')})`, choices: JOB_STATUSES },
    kind: { type: 'string', description: `list: only jobs of this kind (${JOB_KINDS.join(', ')})`, choices: JOB_KINDS },
    limit: { type: 'string', description: 'list: at most N jobs' },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  // list | get ID | cancel ID
  positionals: { name: 'ARGUMENT', min: 0, max: 2 },
  async run({ values, positionals }) {
    const [sub = 'list', idText, ...rest] = positionals
    if (!['list', 'get', 'cancel'].includes(sub)) throw new UsageError(`unknown subcommand "${sub}"; use elle jobs ${ARGS}`)
    if (sub === 'list' && (idText !== undefined || rest.length > 0)) throw new UsageError(`elle jobs list takes no arguments, got "${idText}"`)
    if (sub !== 'list' && (values.status !== undefined || values.kind !== undefined || values.limit !== undefined))
      throw new UsageError('--status, --kind and --limit go with elle jobs list')
    if (sub !== 'list' && idText === undefined) throw new UsageError(`usage: elle jobs ${sub} ID`)
    if (idText !== undefined && !(/^\d+$/.test(idText) && Number(idText) >= 1 && Number.isSafeInteger(Number(idText))))
      throw new UsageError(`job ids are positive integers, got "${idText}"`)
    const id = idText === undefined ? undefined : Number(idText)
    const limit = intFlag(values.limit, 'limit', { min: 1, max: JOBS_LIST_MAX })

    const api = await openCliApi(jobsCommand, { db: stringFlag(values.db), readonly: sub !== 'cancel' })
    try {
      if (sub === 'get' || sub === 'cancel') {
        const job = sub === 'get' ? await api.call('jobs.get', { id: id! }) : await api.call('jobs.cancel', { id: id! })
        if (values.json) console.log(JSON.stringify(job, null, 2))
        else console.log(describeJob(job))
        return 0
      }
      const { jobs } = await api.call('jobs.list', { status: stringFlag(values.status) as JobStatus | undefined, kind: stringFlag(values.kind) as JobKind | undefined, limit })
      if (values.json) console.log(JSON.stringify({ jobs }, null, 2))
      else if (jobs.length === 0) console.log('no jobs yet')
      else
        console.log(
          table(
            ['id', 'kind', 'status', 'progress', 'created', 'error'],
            jobs.map((j) => [j.id, j.kind, j.status, j.progress?.fraction == null ? null : `${(j.progress.fraction * 100).toFixed(0)}%`, j.createdAt, j.error])
          )
        )
      return 0
    } finally {
      await api.close()
    }
  }
}
