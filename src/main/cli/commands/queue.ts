// `elle queue`: the persistent run queue (issue 14, docs/queue.md) through the contract's queue.* methods.
// The queue trains in a queue runner (the workbench, elle serve or elle worker); this command only edits it.
import fs from 'node:fs'
import { QUEUE_PRIORITY_MAX, QUEUE_SLOTS_MAX, type Params, type QueueEntry, type QueueRef, type QueueSettings, type QueueState, type QueueWindow } from '../../../shared/contract'
import { intFlag, stringFlag, UsageError, type Command } from '../args'
import { openCliApi } from '../api'
import { table } from '../format'
import { formatDuration } from '../progress'

const SUBCOMMANDS = ['list', 'add', 'add-job', 'move', 'remove', 'retry', 'pause', 'resume', 'sweep', 'update'] as const
const ARGS =
  "list | add CONFIG.json | add --preset NAME | add-job METHOD PARAMS.json|'{...}' | move ENTRY top|bottom|INDEX | move ENTRY --swap ENTRY | remove ENTRY | retry ENTRY | pause | resume | sweep CONFIG.json --group NAME (ENTRY: RUN_ID or job:JOB_ID)"
const DAYS: Record<string, number[]> = {
  weekdays: [1, 2, 3, 4, 5],
  weekends: [0, 6],
  daily: [0, 1, 2, 3, 4, 5, 6],
  'every-day': [0, 1, 2, 3, 4, 5, 6]
}
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']

function runId(text: string | undefined, what = 'RUN_ID'): number {
  if (text === undefined) throw new UsageError(`missing ${what}`)
  if (!(/^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text)))) throw new UsageError(`run ids are positive integers, got "${text}"`)
  return Number(text)
}

/** An entry: a run id (12) or a job (job:7). */
function entryRef(text: string | undefined, what = 'ENTRY'): QueueRef {
  if (text !== undefined && text.startsWith('job:')) return { jobId: runId(text.slice(4), what) }
  return { runId: runId(text, what) }
}
const refText = (ref: QueueRef): string => ('runId' in ref ? `run ${ref.runId}` : `job ${ref.jobId}`)

/** The job queue.addJob queues: METHOD and its params as JSON, inline ('{...}') or in a file. */
const JOB_METHODS = ['checkpoints.evaluate', 'checkpoints.finetune', 'runs.forgetting', 'checkpoints.grow', 'checkpoints.export', 'checkpoints.import', 'domains.addJob'] as const
function queuedJob(method: string | undefined, params: string | undefined): Params<'queue.addJob'>['job'] {
  if (method === undefined || params === undefined)
    throw new UsageError(`elle queue add-job takes METHOD and its params as JSON (or a JSON file); METHOD is one of ${JOB_METHODS.join(', ')}`)
  if (!(JOB_METHODS as readonly string[]).includes(method)) throw new UsageError(`add-job: METHOD is one of ${JOB_METHODS.join(', ')}, got "${method}"`)
  // the engine checks the params against the method's schema
  const value = params.trim().startsWith('{') ? (JSON.parse(params) as unknown) : readConfig(params)
  return { method, params: value } as Params<'queue.addJob'>['job']
}

function ids(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined
  return text.split(',').map((t) => runId(t.trim(), `--${flag}`))
}

function numbers(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined
  return text.split(',').map((t) => {
    const n = Number(t.trim())
    if (t.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} takes non-negative integers separated by commas, got "${text}"`)
    return n
  })
}

/** --option method.lambda=10,100 → a swept option (numbers stay numbers, true/false booleans). */
function sweepOption(text: string | undefined, flag: string): { path: string; values: Array<number | string | boolean> } | undefined {
  if (text === undefined) return undefined
  const eq = text.indexOf('=')
  if (eq <= 0) throw new UsageError(`--${flag} takes PATH=V1,V2 (e.g. method.lambda=10,100), got "${text}"`)
  const values = text
    .slice(eq + 1)
    .split(',')
    .map((v) => v.trim())
    .map((v) => (v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v))
  return { path: text.slice(0, eq), values }
}

function parseDays(text: string | undefined): number[] {
  if (text === undefined) return DAYS.daily!
  if (DAYS[text]) return DAYS[text]
  const days = new Set<number>()
  for (const part of text.toLowerCase().split(',')) {
    const [from, to] = part.split('-') as [string, string | undefined]
    const a = DAY_NAMES.indexOf(from.slice(0, 3))
    const b = to === undefined ? a : DAY_NAMES.indexOf(to.slice(0, 3))
    if (a < 0 || b < 0) throw new UsageError(`--days takes weekdays, weekends, daily or day names (mon-fri, sat,sun), got "${text}"`)
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d)
      if (d === b) break
    }
  }
  return [...days].sort((x, y) => x - y)
}

/** --window "20:00-07:30" [--days weekdays] | --window none | --cron EXPR --minutes N */
function windowFrom(values: Record<string, string | boolean | undefined>): QueueWindow | null | undefined {
  const window = stringFlag(values.window)
  const cron = stringFlag(values.cron)
  if (window !== undefined && cron !== undefined) throw new UsageError('--window cannot be combined with --cron')
  if (cron !== undefined) {
    const minutes = intFlag(values.minutes, 'minutes', { min: 1, max: 7 * 24 * 60 })
    if (minutes === undefined) throw new UsageError('--cron needs --minutes (how long the window stays open each time it fires)')
    return { kind: 'cron', cron, minutes }
  }
  if (window === undefined) {
    if (values.days !== undefined) throw new UsageError('--days goes with --window')
    return undefined
  }
  if (window === 'none' || window === 'off') return null
  const match = /^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$/.exec(window)
  if (!match) throw new UsageError(`--window takes START-END in 24 h local time, e.g. 20:00-07:30 (or "none"), got "${window}"`)
  const pad = (t: string): string => t.padStart(5, '0')
  return { kind: 'daily', start: pad(match[1]!), end: pad(match[2]!), days: parseDays(stringFlag(values.days)) }
}

function settingsFrom(values: Record<string, string | boolean | undefined>): Params<'queue.settings'> {
  const changes: Params<'queue.settings'> = {}
  const window = windowFrom(values)
  if (window !== undefined) changes.window = window
  const slots = intFlag(values.slots, 'slots', { min: 1, max: QUEUE_SLOTS_MAX })
  if (slots !== undefined) changes.slots = slots
  const autoResume = stringFlag(values['auto-resume'])
  if (autoResume !== undefined) changes.autoResume = autoResume === 'on'
  const stall = intFlag(values['stall-minutes'], 'stall-minutes', { min: 1, max: 24 * 60 })
  if (stall !== undefined) changes.stallMinutes = stall
  const tz = stringFlag(values.timezone)
  if (tz !== undefined) changes.timezone = tz === 'local' ? null : tz
  const notify = stringFlag(values.notify)
  // split on spaces, never run through a shell: the program and its arguments
  if (notify !== undefined) changes.notifyCommand = notify === 'none' ? null : notify.split(/\s+/).filter((a) => a !== '')
  const stopAt = stringFlag(values['stop-at'])
  if (stopAt !== undefined) changes.stopAt = stopAt === 'none' ? null : stopAt
  const stopAfter = stringFlag(values['stop-after'])
  if (stopAfter !== undefined) {
    const hours = Number(stopAfter)
    if (!Number.isFinite(hours)) throw new UsageError(`--stop-after takes a number of hours, got "${stopAfter}"`)
    changes.stopAfterHours = hours
  }
  return changes
}

function budgetFrom(values: Record<string, string | boolean | undefined>): Params<'queue.add'>['budget'] {
  const hoursText = stringFlag(values.hours)
  const until = stringFlag(values.until)
  if (hoursText === undefined && until === undefined) return undefined
  const hours = hoursText === undefined ? undefined : Number(hoursText)
  if (hours !== undefined && !Number.isFinite(hours)) throw new UsageError(`--hours takes a number, got "${hoursText}"`)
  return { ...(hours !== undefined ? { hours } : {}), ...(until !== undefined ? { until } : {}) }
}

function readConfig(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function describeWindow(settings: QueueSettings): string {
  const w = settings.window
  if (!w) return 'always open'
  const zone = settings.timezone ?? 'local time'
  if (w.kind === 'cron') return `cron "${w.cron}" for ${w.minutes} min (${zone})`
  const days = w.days.length === 7 ? 'every day' : w.days.map((d) => DAY_NAMES[d]).join(',')
  return `${w.start}-${w.end} ${days} (${zone})`
}

function printSettings(settings: QueueSettings): void {
  console.log(
    [
      `window: ${describeWindow(settings)}`,
      `slots: ${settings.slots} · auto-resume: ${settings.autoResume ? 'on' : 'off'} · stalled after ${settings.stallMinutes} min without progress`,
      `notify: ${settings.notifyCommand ? settings.notifyCommand.join(' ') : 'none'}`,
      `stops at: ${settings.stopAt ? new Date(settings.stopAt).toLocaleString() : 'never (no queue budget)'}`
    ].join('\n')
  )
}

function entryRow(e: QueueEntry): Array<string | number | null> {
  const est = e.estimate ? `${formatDuration(e.estimate.seconds)}${e.estimate.source === 'guess' ? '?' : ''}` : null
  if (e.kind === 'job') return [e.position < 0 ? '' : e.position, `job:${e.jobId}`, e.state, e.what, e.job.kind, e.group, est, e.blockedBy ?? e.message]
  return [e.position < 0 ? '' : e.position, e.runId, e.state, e.configName, e.method, e.group, est, e.blockedBy ?? e.message]
}
const HEADER = ['#', 'entry', 'state', 'config / job', 'method / kind', 'group', 'estimate', 'note']

function printState(state: QueueState): void {
  const head = `queue ${state.paused ? 'PAUSED' : 'running'} · window ${describeWindow(state.settings)}${state.settings.window ? (state.windowOpen ? ' (open' : ' (closed') + (state.nextWindowChange ? ` until ${new Date(state.nextWindowChange).toLocaleString()})` : ')') : ''} · ${state.settings.slots} slot${state.settings.slots === 1 ? '' : 's'}`
  console.log(head)
  if (state.entries.length === 0) {
    console.log('the queue is empty')
    return
  }
  console.log(table(HEADER, state.entries.map(entryRow)))
  if (state.etaS !== null) console.log(`total ${formatDuration(state.etaS)}${state.finishAt ? ` · through by ${new Date(state.finishAt).toLocaleString()}` : ''}`)
}

export const queueCommand: Command = {
  name: 'queue',
  summary: 'The run queue: list, add, add-job, move, remove, retry, pause, resume, sweep; --window sets when it trains.',
  usage: `elle queue [${ARGS}] [--window 20:00-07:30 [--days weekdays] | --cron EXPR --minutes N] [--slots N] [--db FILE] [--json]`,
  methods: ['queue.list', 'queue.add', 'queue.addJob', 'queue.move', 'queue.update', 'queue.remove', 'queue.retry', 'queue.pause', 'queue.resume', 'queue.settings', 'queue.sweep'],
  flags: {
    all: { type: 'boolean', description: 'list: finished entries too' },
    preset: { type: 'string', description: 'add/sweep: a preset (elle run --help lists them) instead of CONFIG.json' },
    priority: { type: 'string', description: `add/sweep/update: place before entries of lower priority (-${QUEUE_PRIORITY_MAX}..${QUEUE_PRIORITY_MAX}, default 0)` },
    after: { type: 'string', description: 'add/add-job/update: start only after these runs finished (RUN_ID,RUN_ID)' },
    'after-jobs': { type: 'string', description: 'add/add-job/update: start only after these jobs finished (JOB_ID,JOB_ID)' },
    group: { type: 'string', description: 'add/update: group name; sweep: the sweep’s group (required)' },
    hours: { type: 'string', description: 'add/sweep/update: budget: stop cleanly after N hours of training' },
    until: { type: 'string', description: 'add/sweep/update: budget: stop cleanly at this time (ISO, e.g. 2026-12-03T07:00:00+01:00)' },
    stream: { type: 'string', description: 'add/sweep: the stream (id or name) the runs record' },
    fresh: { type: 'boolean', description: 'add: a new run even when an unfinished one of the same config could be resumed' },
    swap: { type: 'string', description: 'move: swap with this entry (RUN_ID or job:JOB_ID)' },
    methods: { type: 'string', description: 'sweep: methods, e.g. elle,naive,ewc' },
    seeds: { type: 'string', description: 'sweep: seeds, e.g. 1,2,3' },
    option: { type: 'string', description: 'sweep: one swept option PATH=V1,V2 (e.g. method.lambda=10,100)' },
    option2: { type: 'string', description: 'sweep: a second swept option' },
    window: { type: 'string', description: 'settings: train only between START-END local time (20:00-07:30), or "none"' },
    days: { type: 'string', description: 'settings: with --window: weekdays, weekends, daily, or mon-fri / sat,sun (the day the window starts)' },
    cron: { type: 'string', description: 'settings: the window opens when this cron expression fires (with --minutes)' },
    minutes: { type: 'string', description: 'settings: with --cron: how long the window stays open' },
    timezone: { type: 'string', description: 'settings: the zone the window is read in (IANA name, or "local")' },
    slots: { type: 'string', description: `settings: runs trained at once (1..${QUEUE_SLOTS_MAX})` },
    'auto-resume': { type: 'string', description: 'settings: resume runs interrupted by a crash at the next start', choices: ['on', 'off'] },
    'stall-minutes': { type: 'string', description: 'settings: report a run stalled after N minutes without progress' },
    'stop-at': { type: 'string', description: 'settings: the queue’s budget: pause the whole queue at this time (ISO), running runs at a checkpoint ("none" clears it)' },
    'stop-after': { type: 'string', description: 'settings: the queue’s budget: pause the whole queue N hours from now' },
    notify: { type: 'string', description: 'settings: a command run on every notice, with RUN_ID, STATUS, MESSAGE set (no shell; "none" clears it)' },
    db: { type: 'string', description: 'experiment store (env: ELLE_DB)' },
    json: { type: 'boolean', description: 'print JSON' }
  },
  positionals: { name: 'ARGUMENT', min: 0, max: 3 },
  async run({ values, positionals }) {
    const [sub = 'list', first, second, ...rest] = positionals
    if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown subcommand "${sub}"; use elle queue ${ARGS}`)
    if (rest.length > 0) throw new UsageError(`too many arguments for elle queue ${sub}`)
    const settings = settingsFrom(values)
    const changesSettings = Object.keys(settings).length > 0
    if (changesSettings && sub !== 'list')
      throw new UsageError('--window, --cron, --slots, --auto-resume, --stall-minutes, --timezone and --notify change the queue’s settings: give them without a subcommand')
    const preset = stringFlag(values.preset)
    const budget = budgetFrom(values)
    const priority = intFlag(values.priority, 'priority', { min: -QUEUE_PRIORITY_MAX, max: QUEUE_PRIORITY_MAX })
    const streamText = stringFlag(values.stream)
    const stream = streamText === undefined ? undefined : /^\d+$/.test(streamText) ? Number(streamText) : streamText

    const api = await openCliApi(queueCommand, { db: stringFlag(values.db) })
    const print = (value: unknown, text: () => void): void => (values.json ? console.log(JSON.stringify(value, null, 2)) : text())
    try {
      switch (sub) {
        case 'list': {
          if (first !== undefined) throw new UsageError(`elle queue list takes no arguments, got "${first}"`)
          if (changesSettings) {
            const changed = await api.call('queue.settings', settings)
            print(changed, () => printSettings(changed))
            return 0
          }
          const state = await api.call('queue.list', { includeFinished: values.all === true })
          print(state, () => printState(state))
          return 0
        }
        case 'add':
        case 'sweep': {
          if ((first === undefined) === (preset === undefined)) throw new UsageError(`elle queue ${sub} takes CONFIG.json or --preset NAME (one of them)`)
          if (second !== undefined) throw new UsageError(`elle queue ${sub} takes one CONFIG.json, got "${second}"`)
          const source = preset !== undefined ? { preset } : { config: readConfig(first!) as Params<'queue.add'>['config'] }
          if (sub === 'add') {
            const { entries } = await api.call('queue.add', {
              ...source,
              priority,
              after: ids(stringFlag(values.after), 'after'),
              afterJobs: ids(stringFlag(values['after-jobs']), 'after-jobs'),
              group: stringFlag(values.group),
              budget,
              stream,
              fresh: values.fresh === true ? true : undefined
            })
            print({ entries }, () =>
              entries.forEach((e) => console.log(`queued ${entryRow(e)[1]} (${entryRow(e)[3]}) at position ${e.position}${e.blockedBy ? `: ${e.blockedBy}` : ''}`))
            )
            return 0
          }
          const group = stringFlag(values.group)
          if (group === undefined) throw new UsageError('elle queue sweep needs --group NAME')
          const options = [sweepOption(stringFlag(values.option), 'option'), sweepOption(stringFlag(values.option2), 'option2')].filter((o) => o !== undefined)
          const methods = stringFlag(values.methods)
            ?.split(',')
            .map((m) => m.trim())
          const swept = await api.call('queue.sweep', { ...source, group, methods, seeds: numbers(stringFlag(values.seeds), 'seeds'), options, priority, budget, stream })
          print(swept, () => {
            console.log(`queued ${swept.entries.length} runs as group "${swept.group}"`)
            console.log(
              table(
                ['run', 'config'],
                swept.entries.map((e) => [entryRow(e)[1]!, entryRow(e)[3]!])
              )
            )
          })
          return 0
        }
        case 'add-job': {
          const job = queuedJob(first, second)
          if (budget !== undefined) throw new UsageError('--hours and --until are budgets of runs; a job runs to its end')
          const entry = await api.call('queue.addJob', {
            job,
            priority,
            after: ids(stringFlag(values.after), 'after'),
            afterJobs: ids(stringFlag(values['after-jobs']), 'after-jobs'),
            group: stringFlag(values.group)
          })
          print(entry, () => console.log(`queued job ${entry.jobId} (${entry.what}) at position ${entry.position}${entry.blockedBy ? `: ${entry.blockedBy}` : ''}`))
          return 0
        }
        case 'move': {
          const id = entryRef(first)
          const swap = stringFlag(values.swap)
          if ((second === undefined) === (swap === undefined)) throw new UsageError('elle queue move ENTRY takes top, bottom or an INDEX, or --swap ENTRY (one of them)')
          let to: 'top' | 'bottom' | number | undefined
          if (second !== undefined) {
            if (second === 'top' || second === 'bottom') to = second
            else if (/^\d+$/.test(second)) to = Number(second)
            else throw new UsageError(`move to top, bottom or a 0-based INDEX, got "${second}"`)
          }
          const state = await api.call('queue.move', { ...id, ...(to !== undefined ? { to } : { swapWith: entryRef(swap, '--swap') }) })
          print(state, () => printState(state))
          return 0
        }
        case 'update': {
          const entry = await api.call('queue.update', {
            ...entryRef(first),
            priority,
            after: ids(stringFlag(values.after), 'after'),
            afterJobs: ids(stringFlag(values['after-jobs']), 'after-jobs'),
            group: stringFlag(values.group),
            budget
          })
          print(entry, () => console.log(table(HEADER, [entryRow(entry)])))
          return 0
        }
        case 'remove':
        case 'retry': {
          const ref = entryRef(first)
          if (second !== undefined) throw new UsageError(`elle queue ${sub} takes one ENTRY, got "${second}"`)
          const entry = sub === 'remove' ? await api.call('queue.remove', ref) : await api.call('queue.retry', ref)
          const name = entry.kind === 'run' ? entry.configName : entry.what
          const status = entry.kind === 'run' ? entry.run.status : entry.job.status
          print(entry, () =>
            console.log(sub === 'remove' ? `removed ${refText(ref)} (${name}) from the queue; it is ${status}` : `${refText(ref)} (${name}) waits again in the queue`)
          )
          return 0
        }
        default: {
          if (first !== undefined) throw new UsageError(`elle queue ${sub} takes no arguments, got "${first}"`)
          const state = sub === 'pause' ? await api.call('queue.pause', {}) : await api.call('queue.resume', {})
          print(state, () => console.log(sub === 'pause' ? 'the queue is paused: running runs stop at a checkpoint; nothing new starts' : 'the queue runs again'))
          return 0
        }
      }
    } finally {
      await api.close()
    }
  }
}
