// `elle checkpoints RUN_ID`: a run's checkpoints (checkpoints.list): stage-end and latest, step, size, shape.
import { stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'
import { table } from '../format'
import { formatBytes } from './export'

export const checkpointsCommand: Command = {
  name: 'checkpoints',
  summary: "List a run's checkpoints: why each was written, step, stage, size, model shape and parameters.",
  usage: 'elle checkpoints RUN_ID [--db FILE] [--json]',
  methods: ['checkpoints.list'],
  flags: {
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'RUN_ID', min: 1, max: 1, missing: 'give a run id, e.g. elle checkpoints 3' },
  async run({ values, positionals }) {
    const text = positionals[0]!
    if (!(/^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text)))) throw new UsageError(`run ids are positive integers, got "${text}"`)
    const runId = Number(text)
    const api = await openCliApi(checkpointsCommand, { db: stringFlag(values.db), readonly: true })
    try {
      const { checkpoints } = await api.call('checkpoints.list', { runId })
      if (values.json) console.log(JSON.stringify({ runId, checkpoints }, null, 2))
      else if (checkpoints.length === 0) console.log(`run ${runId} has no checkpoints yet`)
      else
        console.log(
          table(
            ['id', 'step', 'stage', 'domain', 'reason', 'latest', 'model', 'parameters', 'size', 'path'],
            checkpoints.map((c) => [
              c.id,
              c.step,
              c.stageIndex,
              c.domain,
              c.reason ?? c.problem,
              c.latest ? 'yes' : '',
              c.model ? `${c.model.kind} L${c.model.layers} H${c.model.heads} d${c.model.hidden}` : null,
              c.parameters?.toLocaleString('en') ?? null,
              formatBytes(c.bytes),
              c.path
            ])
          )
        )
      return 0
    } finally {
      await api.close()
    }
  }
}
