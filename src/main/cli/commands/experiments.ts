// `elle experiments`: saved experiments (designed, not yet run) and what a design will cost, the designer's
// operations from a terminal (experiments.list/get/save/delete/estimate, runs.config).
import { designFacts, elleReferenceFlags, estimateWall, planStages, validateDesign } from '../../../shared/designer'
import { stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'
import { formatDuration } from '../progress'
import { table } from '../format'
import { readConfigFile } from './run'

const ARGS = 'SUBCOMMAND ARGS...'
const USAGE = 'elle experiments [list] | show ID | save NAME FILE [--id ID] | delete ID | plan FILE [--stream S] | from-run RUN_ID'
const SUBCOMMANDS: Record<string, number> = { list: 0, show: 1, save: 2, delete: 1, plan: 1, 'from-run': 1 }

function id(value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${what} must be a positive integer, got "${value}"`)
  return Number(value)
}

const compact = (n: number): string =>
  n >= 1e12 ? `${(n / 1e12).toFixed(1)}T` : n >= 1e9 ? `${(n / 1e9).toFixed(1)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}k`

export const experimentsCommand: Command = {
  name: 'experiments',
  summary: 'Saved experiments: list, show (a config elle run takes), save, delete; plan a config (stages, cost, problems).',
  usage: USAGE,
  methods: ['experiments.list', 'experiments.get', 'experiments.save', 'experiments.delete', 'experiments.estimate', 'runs.config', 'streams.list'],
  flags: {
    id: { type: 'string', description: 'save: replace the saved experiment with this id' },
    stream: { type: 'string', description: 'plan: the stream the stages must follow (name or id; default: the built-in stream)' },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: ARGS, min: 0, max: Infinity }, // each subcommand's count is checked below
  async run({ values, positionals }) {
    const [sub = 'list', ...rest] = positionals
    if (!(sub in SUBCOMMANDS)) throw new UsageError(`unknown subcommand "${sub}"; usage: ${USAGE}`)
    if (rest.length !== SUBCOMMANDS[sub]) throw new UsageError(`usage: ${USAGE}`)
    if (values.id !== undefined && sub !== 'save') throw new UsageError('--id goes with elle experiments save')
    if (values.stream !== undefined && sub !== 'plan') throw new UsageError('--stream goes with elle experiments plan')
    const replace = values.id === undefined ? undefined : id(stringFlag(values.id)!, '--id')
    const config = sub === 'save' ? readConfigFile(rest[1]!) : sub === 'plan' ? readConfigFile(rest[0]!) : null

    const api = await openCliApi(experimentsCommand, { db: stringFlag(values.db), readonly: sub !== 'save' && sub !== 'delete' })
    try {
      if (sub === 'show' || sub === 'from-run') {
        // the config alone, so that `elle experiments show 3 > x.json && elle run x.json` runs it
        const found = sub === 'show' ? await api.call('experiments.get', { id: id(rest[0]!, 'ID') }) : await api.call('runs.config', { id: id(rest[0]!, 'RUN_ID') })
        console.log(JSON.stringify(found.config, null, 2))
        return 0
      }
      if (sub === 'save' || sub === 'delete') {
        const saved =
          sub === 'save'
            ? await api.call('experiments.save', { ...(replace ? { id: replace } : {}), name: rest[0]!, config: config as never })
            : await api.call('experiments.delete', { id: id(rest[0]!, 'ID') })
        if (values.json) console.log(JSON.stringify(saved, null, 2))
        else console.log(`${sub === 'save' ? 'saved' : 'deleted'} experiment ${saved.id} "${saved.name}" (${saved.method}: ${saved.domains.join(' → ')})`)
        return 0
      }
      if (sub === 'plan') {
        const estimate = await api.call('experiments.estimate', { config })
        const { streams } = await api.call('streams.list', {})
        const streamRef = stringFlag(values.stream)
        const stream = streamRef === undefined ? (streams.find((s) => s.builtin) ?? null) : (streams.find((s) => s.name === streamRef || String(s.id) === streamRef) ?? null)
        if (streamRef !== undefined && !stream) throw new UsageError(`no stream "${streamRef}"; see "elle streams"`)
        const check = validateDesign(config, designFacts(estimate, stream))
        const plans = check.config ? planStages(check.config) : []
        const walls = check.config ? plans.map((p) => estimateWall(p, check.config!.training.batchSize, estimate.samples)) : []
        const flags = check.config ? elleReferenceFlags(check.config) : null
        if (values.json) console.log(JSON.stringify({ issues: check.issues, stages: plans.map((p, i) => ({ ...p, wall: walls[i] })), referenceFlags: flags }, null, 2))
        else {
          if (plans.length > 0)
            console.log(
              table(
                ['stage', 'domain', 'steps', 'layers', 'hidden', 'heads', 'ffn', 'params', 'FLOPs', 'wall (est.)'],
                plans.map((p, i) => [
                  p.stage,
                  p.domain,
                  p.steps + p.frwSteps,
                  p.shape.layers,
                  p.shape.hidden,
                  p.shape.heads,
                  p.shape.ffn,
                  compact(p.params),
                  compact(p.flops),
                  `${formatDuration(walls[i]!.seconds)} (${walls[i]!.source})`
                ])
              )
            )
          if (flags) console.log(`reference flags: ${flags.flags.join(' ')}`)
          for (const issue of check.issues) console.error(`${issue.path || 'config'}: ${issue.message}`)
        }
        return check.issues.length > 0 ? 1 : 0
      }
      const { experiments, saved } = await api.call('experiments.list', {})
      if (values.json) console.log(JSON.stringify({ saved, recorded: experiments }, null, 2))
      else if (saved.length === 0) console.log(`no saved experiments (${experiments.length} recorded from runs; see "elle runs")`)
      else
        console.log(
          table(
            ['id', 'name', 'method', 'domains', 'updated'],
            saved.map((e) => [e.id, e.name, e.method, e.domains.join(' → '), e.updatedAt])
          )
        )
      return 0
    } finally {
      await api.close()
    }
  }
}
