// Jobs as queue entries (issue 14, docs/queue.md "Jobs in the queue"): a real engine on a real store file, a real
// tiny run and real job workers (out/main/job-worker.js). A queued job waits for the run it depends on and starts
// after it; its entry moves and is removed like a run's; bad input is refused by name with nothing changed; the
// order survives reopening the store; a job whose process died shows as interrupted and is retried from the start.
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ApiError, type Method, type Params, type QueueJobEntry, type QueueState, type Result } from '../../../src/shared/contract'
import type { RunConfigInput } from '../../../src/shared/run-config'
import { createApiHandler } from '../../../src/main/engine/api/handler'
import { Engine } from '../../../src/main/engine/engine'
import { tempDir } from '../../helpers/tmp'

const dbPath = path.join(tempDir(), 'queue-jobs.sqlite')
let engine: Engine
let call: <M extends Method>(method: M, params: Params<M>) => Promise<Result<M>>

async function open(): Promise<void> {
  engine = await Engine.open({ dbPath, dataDir: inject('dataDir'), backend: { flag: 'wasm' }, queue: { tickMs: 0 } })
  const handler = createApiHandler(engine, 'cli')
  call = async (method, params) => (await handler(method, params)) as never
}

const tiny = (name: string): RunConfigInput => ({
  name,
  model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
  training: { seqLen: 32, batchSize: 8, validateEvery: 1000, validationSequences: 8, checkpointEvery: 1000, seed: 3 },
  stages: [{ domain: 'press', steps: 6 }]
})
/** the queue as "run:N" / "job:N" in order */
const keys = (state: QueueState): string[] => state.entries.map((e) => (e.kind === 'run' ? `run:${e.runId}` : `job:${e.jobId}`))
const jobEntry = (state: QueueState, jobId: number): QueueJobEntry | undefined => state.entries.find((e): e is QueueJobEntry => e.kind === 'job' && e.jobId === jobId)
const refused = async (promise: Promise<unknown>): Promise<ApiError> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(ApiError)
  return error as ApiError
}

let first: number // a finished run: its checkpoint is what the queued jobs evaluate
let checkpointId: number
let later: number // a queued run the evaluate job waits for
let evaluate: number
let exportJob: number

beforeAll(async () => {
  await open()
  const run = engine.startRun(tiny('queue-jobs-first'))
  first = run.id
  expect((await engine.host.waitFor(first)).status).toBe('finished')
  checkpointId = engine.listCheckpoints(first).at(-1)!.id
}, 120_000)
afterAll(async () => engine.close())

describe('jobs in the queue', () => {
  it('queues a job after a run, in the one shared order, without starting it', async () => {
    await call('queue.pause', {})
    const [queuedRun] = (await call('queue.add', { config: tiny('queue-jobs-later') })).entries
    later = queuedRun!.kind === 'run' ? queuedRun!.runId : 0
    const added = await call('queue.addJob', { job: { method: 'checkpoints.evaluate', params: { checkpointId, domain: 'press', maxSequences: 8 } }, after: [later] })
    evaluate = added.jobId
    expect(added).toMatchObject({
      kind: 'job',
      state: 'waiting',
      position: 1,
      after: [later],
      afterJobs: [],
      blockedBy: `after run ${later} (queued)`,
      job: { kind: 'evaluate', status: 'queued', owner: null },
      what: `evaluate checkpoint ${checkpointId} (run ${first}, step 6) on domain press`,
      estimate: null // no evaluate job has finished yet: nothing to go by
    })
    const exported = await call('queue.addJob', { job: { method: 'checkpoints.export', params: { checkpointId, format: 'hf', outDir: path.join(tempDir(), 'hf') } }, priority: 5 })
    exportJob = exported.jobId
    // a higher priority goes ahead of the run, as a run's would
    expect(keys(await call('queue.list', {}))).toEqual([`job:${exportJob}`, `run:${later}`, `job:${evaluate}`])
    expect(jobEntry(await call('queue.list', {}), exportJob)).toMatchObject({ state: 'waiting', blockedBy: 'the queue is paused' })
    // the job starters themselves still start at once (the checkpoint actions do not queue)
    expect(engine.jobs.activeJobs).toEqual([])
  })

  it('moves job entries and refuses unknown jobs, unknown runs and cycles by name, changing nothing', async () => {
    expect(keys(await call('queue.move', { jobId: exportJob, to: 'bottom' }))).toEqual([`run:${later}`, `job:${evaluate}`, `job:${exportJob}`])
    expect(keys(await call('queue.move', { jobId: exportJob, swapWith: { jobId: evaluate } }))).toEqual([`run:${later}`, `job:${exportJob}`, `job:${evaluate}`])
    expect(keys(await call('queue.move', { runId: later, swapWith: { jobId: exportJob } }))).toEqual([`job:${exportJob}`, `run:${later}`, `job:${evaluate}`])

    const before = await call('queue.list', {})
    const jobsBefore = engine.store.listJobs().length
    const unknownJob = await refused(call('queue.addJob', { job: { method: 'runs.forgetting', params: { runId: first } }, afterJobs: [987654] }))
    expect(unknownJob).toMatchObject({ code: 'bad_request', message: 'queue.addJob: afterJobs: no job with id 987654' })
    const unknownRun = await refused(call('queue.addJob', { job: { method: 'runs.forgetting', params: { runId: first } }, after: [987654] }))
    expect(unknownRun).toMatchObject({ code: 'bad_request', message: 'queue.addJob: after: no run with id 987654' })
    const cycle = await refused(call('queue.update', { runId: later, afterJobs: [evaluate] }))
    expect(cycle).toMatchObject({ code: 'bad_request', message: `queue.update: afterJobs: dependency cycle ${later} → job ${evaluate} → ${later}` })
    expect((await refused(call('queue.update', { jobId: evaluate, budget: { hours: 1 } }))).message).toMatch(/^queue\.update: budget: a job entry has no budget/)
    expect(await refused(call('queue.move', { jobId: 987654, to: 'top' }))).toMatchObject({ code: 'not_found', message: 'job 987654 is not in the queue' })
    expect((await refused(call('queue.remove', { jobId: 987654 }))).code).toBe('not_found')
    expect((await refused(call('queue.move', { runId: later, jobId: evaluate, to: 'top' }))).message).toMatch(/give exactly one of runId or jobId/)
    expect((await call('queue.list', {})).entries).toEqual(before.entries)
    expect(engine.store.listJobs().length).toBe(jobsBefore)
  })

  it('removes a waiting job entry: the job is cancelled and leaves the queue', async () => {
    const removed = await call('queue.remove', { jobId: exportJob })
    expect(removed).toMatchObject({ kind: 'job', jobId: exportJob, state: 'cancelled', job: { status: 'cancelled' } })
    expect(keys(await call('queue.list', {}))).toEqual([`run:${later}`, `job:${evaluate}`])
  })

  it('keeps job entries in order across reopening the store', async () => {
    await engine.close()
    await open()
    const state = await call('queue.list', {})
    expect(keys(state)).toEqual([`run:${later}`, `job:${evaluate}`])
    expect(jobEntry(state, evaluate)).toMatchObject({ state: 'waiting', after: [later], job: { status: 'queued' } })
  })

  it('starts the job only after the run it depends on finished', async () => {
    const seen: string[] = []
    engine.events.subscribe((event) => {
      if (event.type === 'job.updated' && event.job.id === evaluate) seen.push(`job ${event.job.status} (run ${engine.store.getRun(later).status})`)
    })
    // ahead of its dependency in the order: only the dependency holds it back (not the one slot the run takes)
    expect(keys(await call('queue.move', { jobId: evaluate, to: 'top' }))).toEqual([`job:${evaluate}`, `run:${later}`])
    await call('queue.resume', {})
    expect(jobEntry(await call('queue.list', {}), evaluate)).toMatchObject({ state: 'waiting', blockedBy: expect.stringMatching(new RegExp(`^after run ${later} `)) })
    const run = await engine.host.waitFor(later)
    expect(run.status).toBe('finished')
    const job = await engine.jobs.waitFor(evaluate)
    expect(job.status, job.error ?? '').toBe('finished')
    expect(seen[0]).toBe('job running (run finished)')
    expect(Date.parse(job.startedAt!)).toBeGreaterThanOrEqual(Date.parse(run.endedAt!))
    const state = await call('queue.list', { includeFinished: true })
    expect(jobEntry(state, evaluate)).toMatchObject({ state: 'finished', position: -1, estimate: null })

    // a waiting evaluate job is now estimated from the finished one's duration
    await call('queue.pause', {})
    const next = await call('queue.addJob', { job: { method: 'checkpoints.evaluate', params: { checkpointId, domain: 'press', maxSequences: 8 } } })
    const took = (Date.parse(job.endedAt!) - Date.parse(job.startedAt!)) / 1000
    expect(next.estimate).toEqual({ seconds: took, source: 'measured', note: 'median of the last 1 finished evaluate job' })
    expect((await call('queue.list', {})).etaS).toBeGreaterThanOrEqual(took)
    await call('queue.remove', { jobId: next.jobId })
    await call('queue.resume', {})
  }, 120_000)

  it('shows a job whose process died as interrupted, and retries it from the start', async () => {
    await call('queue.pause', {})
    const queued = await call('queue.addJob', { job: { method: 'runs.forgetting', params: { runId: first, seeds: 1, steps: 2 } } })
    // as a runner that died mid-job leaves it
    engine.store.db.prepare("UPDATE jobs SET status = 'running', owner = ?, started_at = '2026-01-01T00:00:00Z' WHERE id = ?").run(`${os.hostname()}:999999999:gone`, queued.jobId)
    await engine.close()
    await open()
    const entry = jobEntry(await call('queue.list', {}), queued.jobId)
    expect(entry).toMatchObject({ state: 'interrupted', job: { status: 'failed' }, message: expect.stringMatching(/^interrupted: /) })
    const retried = await call('queue.retry', { jobId: queued.jobId })
    expect(retried).toMatchObject({ state: 'waiting', blockedBy: 'the queue is paused', job: { status: 'queued', error: null, owner: null } })
    await call('queue.remove', { jobId: queued.jobId })
  })
})
