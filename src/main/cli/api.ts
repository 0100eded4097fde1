// The CLI's client of the contract (issue 10): every command reaches the engine through `CliApi.call`,
// which is the handler the HTTP and IPC transports call, served in this process (engine/api/facade.ts).
// A command may call only the methods its entry in the command table declares (`Command.methods`), so the
// table says truthfully which contract methods stand behind each command (test/cli/contract.test.ts).
// Long operations are jobs: `runJob` starts one, prints its job.progress events on stderr and cancels it
// on Ctrl+C (jobs.cancel), then answers with the ended job.
import { ApiError, type ApiClient, type ApiEvent, type JobKind, type JobSummary, type Method, type Params, type Result } from '../../shared/contract'
import { jobResult, type JobResult } from '../../shared/jobs'
import { backendRequestFromEnv, openEngineApi, type EngineApi } from '../engine/api/facade'
import type { Command } from './args'
import { JobProgressReporter } from './progress'
import { announceNewStore, cliStorePath } from './store'

/** A job ended cancelled (Ctrl+C): the command exits 130. */
export class JobCancelledError extends Error {
  constructor(readonly job: JobSummary) {
    super(`cancelled (job ${job.id})`)
    this.name = 'JobCancelledError'
  }
}

export interface CliApiOptions {
  /** --db */
  db?: string
  /** --data-dir */
  dataDir?: string
  /** --backend */
  backend?: string
  /** open the store read-only (reading commands: they then work on read-only media) */
  readonly?: boolean
  /** after a read-only open: reopen for writing when this says so (e.g. the built-in domains are not registered yet) */
  writeIf?: (api: CliApi) => Promise<boolean>
  /** a training run's log lines */
  log?: (runId: number, message: string) => void
  /** the store is the command's own scratch store: a new one is not announced */
  scratch?: boolean
  /** train every queue entry (elle worker) instead of only the runs this command starts */
  queueRunner?: boolean
}

export class CliApi implements ApiClient {
  constructor(
    private readonly command: Pick<Command, 'name' | 'methods'>,
    private readonly engine: EngineApi
  ) {}

  get storePath(): string {
    return this.engine.storePath
  }

  get backend(): EngineApi['backend'] {
    return this.engine.backend
  }

  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const declared = this.command.methods
    if (declared !== 'all' && !declared.includes(method)) throw new Error(`elle ${this.command.name} calls ${method}, which its entry in the command table does not declare`)
    try {
      return await this.engine.call(method, params)
    } catch (error) {
      // the command names itself in its one line of error ("elle compare: …"): the method's name is left out
      if (error instanceof ApiError && error.message.startsWith(`${method}: `)) throw new ApiError(error.code, error.message.slice(method.length + 2), error.details)
      throw error
    }
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    return this.engine.onEvent(listener)
  }

  /**
   * Start a job, print its progress on stderr, cancel it on Ctrl+C (twice: quit at once), and answer
   * when it has ended: its result read with its kind's schema. A failed job throws its error; a cancelled
   * one JobCancelledError.
   */
  async runJob<M extends Method, K extends JobKind>(
    method: M,
    params: Params<M>,
    kind: K,
    reporter = new JobProgressReporter()
  ): Promise<{ job: JobSummary; result: JobResult<K> }> {
    let id: number | null = null
    const early: ApiEvent[] = []
    let settle: (job: JobSummary) => void = () => {}
    const ended = new Promise<JobSummary>((resolve) => (settle = resolve))
    const handle = (event: ApiEvent): void => {
      if (event.type === 'job.progress' && event.progress.jobId === id) reporter.update(event.progress)
      if (event.type === 'job.updated' && event.job.id === id && event.job.status !== 'queued' && event.job.status !== 'running') settle(event.job)
    }
    const stop = this.onEvent((event) => (id === null ? early.push(event) : handle(event)))
    let interrupts = 0
    const onInterrupt = (): void => {
      interrupts += 1
      if (interrupts > 1) process.exit(130)
      reporter.message('cancelling the job (Ctrl+C again to quit at once)')
      if (id !== null) void this.call('jobs.cancel', { id }).catch(() => process.exit(130))
    }
    process.on('SIGINT', onInterrupt)
    try {
      const started = (await this.call(method, params)) as JobSummary
      id = started.id
      for (const event of early.splice(0)) handle(event)
      if (started.status !== 'queued' && started.status !== 'running') settle(started)
      if (interrupts > 0) void this.call('jobs.cancel', { id }).catch(() => {})
      const job = await ended
      reporter.clear()
      if (job.status === 'cancelled') throw new JobCancelledError(job)
      if (job.status !== 'finished') throw new Error(job.error ?? `job ${job.id} ${job.status}`)
      return { job, result: jobResult(kind, job.result) }
    } finally {
      process.off('SIGINT', onInterrupt)
      stop()
    }
  }

  close(): Promise<void> {
    return this.engine.close()
  }
}

/**
 * Open the store a command names (--db, ELLE_DB or the default; bad paths are usage errors) and serve the
 * contract on it in this process. A reading command opens read-only; a store that is not there yet is
 * created (and announced when the user named it) as before.
 */
export async function openCliApi(command: Pick<Command, 'name' | 'methods'>, options: CliApiOptions = {}): Promise<CliApi> {
  const location = cliStorePath(options.db)
  const backend = backendRequestFromEnv(options.backend)
  const open = async (readonly: boolean): Promise<CliApi> =>
    new CliApi(
      command,
      await openEngineApi({ dbPath: location.path, dataDir: options.dataDir, backend, mode: 'cli', readonly, log: options.log, queue: options.queueRunner ? 'runner' : 'own' })
    )
  // Reading a store that is not there: the default one is created as always (an empty list); a path the
  // user gave is refused by the read-only open ("no store at …") unless the command writes anyway.
  if (options.readonly && (!location.isNew || (location.given && !options.writeIf))) {
    const api = await open(true)
    if (!(await options.writeIf?.(api))) return api
    await api.close()
  }
  const api = await open(false)
  if (!options.scratch) announceNewStore(location)
  return api
}

/** An ApiError the user's input caused, for commands that treat it as bad usage. */
export function isBadRequest(error: unknown): error is ApiError {
  return error instanceof ApiError && error.code === 'bad_request'
}
