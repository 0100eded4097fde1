// Jobs through the API handler: a real engine on a real store, a real tiny run's checkpoints, real job
// workers (out/main/job-worker.js). Started jobs report progress, can be cancelled, store their result, and
// give what the CLI command (or the engine function it calls) gives.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CheckpointSummary, JobSummary, type ApiEvent } from '../../../src/shared/contract'
import { jobResult, type JobResult } from '../../../src/shared/jobs'
import { createApiHandler, type ApiHandler } from '../../../src/main/engine/api/handler'
import { finetuneCheckpoint } from '../../../src/main/engine/downstream'
import { Engine } from '../../../src/main/engine/engine'
import { parameterCount } from '../../../src/main/engine/model/config'
import { loadCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { rejection } from '../../helpers/api'
import { tempDir } from '../../helpers/tmp'
import { BIN, elle } from '../../cli/elle'
import WebSocket from 'ws'
import { rendererDir } from '../../../src/main/app-root'
import { startBrowserServer } from '../../../src/main/transports/http/server'

let engine: Engine
let handle: ApiHandler
let runId: number
const events: ApiEvent[] = []
const dir = tempDir()

const job = async (method: string, params: unknown): Promise<JobSummary> => JobSummary.parse(await handle(method, params))
const ended = (id: number): Promise<JobSummary> => engine.jobs.waitFor(id)

beforeAll(async () => {
  engine = await Engine.open({ dbPath: path.join(dir, 'jobs.sqlite'), dataDir: inject('dataDir'), backend: { flag: 'wasm' }, training: { heartbeatMs: 200 } })
  engine.events.subscribe((e) => events.push(e))
  handle = createApiHandler(engine, 'browser')
  const run = engine.startRun({
    name: 'jobs-tiny',
    model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
    training: { seqLen: 32, batchSize: 8, validateEvery: 1000, validationSequences: 8, checkpointEvery: 1000, seed: 3 },
    stages: [
      { domain: 'press', steps: 8 },
      { domain: 'email', steps: 8 }
    ]
  })
  runId = run.id
  expect((await engine.host.waitFor(run.id)).status).toBe('finished')
}, 120_000)
afterAll(() => engine.close())

const checkpoints = async (): Promise<CheckpointSummary[]> => ((await handle('checkpoints.list', { runId })) as { checkpoints: CheckpointSummary[] }).checkpoints

// The CLI's job workers compute on the engine's backend here: on wasm-native the matmuls round differently.
const SAME_BACKEND = { ELLE_BACKEND: 'wasm' }

describe('checkpoints.list', () => {
  it("lists a run's stage-end checkpoints with step, hash, model shape and parameter count", async () => {
    const list = await checkpoints()
    expect(list.map((c) => [c.step, c.reason, c.latest, c.stageIndex, c.domain])).toEqual([
      [8, 'stage-end', false, 0, 'press'],
      [16, 'stage-end', true, 1, 'email']
    ])
    const loaded = await loadCheckpoint(list[1]!.path, { optimizer: false })
    expect(list[1]).toMatchObject({
      sha256: loaded.sha256,
      bytes: loaded.bytes,
      model: { kind: 'gpt', layers: 1, heads: 2, hidden: 32 },
      parameters: parameterCount(loaded.config),
      problem: null
    })
    expect((await rejection(handle('checkpoints.list', { runId: 987654 }))).code).toBe('not_found')
  })
})

describe('jobs through the API', () => {
  it('exports a checkpoint as a job with progress events, stores its result, and matches elle export', async () => {
    const [, last] = await checkpoints()
    const out = path.join(dir, 'hf-job')
    const started = await job('checkpoints.export', { checkpointId: last!.id, format: 'hf', outDir: out })
    expect(started.kind).toBe('export')
    expect(['queued', 'running']).toContain(started.status)
    const done = await ended(started.id)
    expect(done).toMatchObject({ status: 'finished', error: null, params: { checkpointId: last!.id, format: 'hf', outDir: out } })
    expect(done.startedAt).not.toBeNull()
    expect(done.endedAt).not.toBeNull()
    // stored: read back through the API, as another client would
    const stored = await job('jobs.get', { id: started.id })
    expect(stored.result).toMatchObject({ path: out, architecture: 'GPT2LMHeadModel', checkpointSha256: last!.sha256 })
    const mine = events.filter((e) => (e.type === 'job.updated' && e.job.id === started.id) || (e.type === 'job.progress' && e.progress.jobId === started.id))
    expect(mine.filter((e) => e.type === 'job.updated').map((e) => (e.type === 'job.updated' ? e.job.status : ''))).toEqual(['queued', 'running', 'finished'])
    expect(mine.some((e) => e.type === 'job.progress' && e.progress.message === 'exporting')).toBe(true)

    const cli = await elle(['export', last!.path, '--out', path.join(dir, 'hf-cli'), '--db', engine.store.path, '--json'])
    expect(cli.code).toBe(0)
    const fromCli = JSON.parse(cli.stdout) as { files: unknown; checkpointSha256: string; bytes: number }
    expect(stored.result).toMatchObject({ files: fromCli.files, checkpointSha256: fromCli.checkpointSha256, bytes: fromCli.bytes })
    const listed = (await handle('jobs.list', { kind: 'export' })) as { jobs: JobSummary[] }
    expect(listed.jobs.map((j) => j.id)).toContain(started.id)
  })

  it('fine-tunes a checkpoint as a job; its scores are stored and equal a direct call of the engine', async () => {
    const [first] = await checkpoints()
    const started = await job('checkpoints.finetune', { checkpointId: first!.id, task: 'press-genre', seeds: 1, steps: 6 })
    const done = await ended(started.id)
    expect(done.error).toBeNull()
    expect(done.status).toBe('finished')
    const result = done.result as { accuracy: { mean: number }; seeds: Array<{ accuracy: number; macroF1: number }>; stored: { runId: number; checkpointId: number; rows: number } }
    expect(result.stored).toEqual({ runId, checkpointId: first!.id, rows: 2 })
    expect(engine.store.listEvaluations(runId).filter((e) => e.checkpointId === first!.id)).toHaveLength(2)
    const progress = events.filter((e) => e.type === 'job.progress' && e.progress.jobId === started.id)
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.every((e) => e.type === 'job.progress' && e.progress.fraction !== null && e.progress.fraction <= 1)).toBe(true)

    // what `elle finetune CHECKPOINT --task press-genre` calls, in this process
    const direct = await finetuneCheckpoint(first!.path, { dataDir: inject('dataDir'), task: 'press-genre', seeds: 1, settings: { steps: 6 } })
    expect(result.seeds.map((s) => [s.accuracy, s.macroF1])).toEqual(direct.seeds.map((s) => [s.accuracy, s.macroF1]))
  })

  it('cancels a running fine-tune at its next update and records it as cancelled', async () => {
    const [first] = await checkpoints()
    const started = await job('checkpoints.finetune', { checkpointId: first!.id, task: 'press-genre', seeds: 1, steps: 100_000 })
    await new Promise<void>((resolve) => {
      const stop = engine.events.subscribe((e) => {
        if (e.type === 'job.progress' && e.progress.jobId === started.id && (e.progress.fraction ?? 0) > 0) {
          stop()
          resolve()
        }
      })
    })
    const askedAt = Date.now()
    const asked = await job('jobs.cancel', { id: started.id })
    expect(asked.id).toBe(started.id)
    const done = await ended(started.id)
    expect(done).toMatchObject({ status: 'cancelled', error: null, result: null })
    // stopped at its next update, not by terminating the worker after the 10 s grace
    expect(Date.now() - askedAt).toBeLessThan(5000)
    expect((await job('jobs.get', { id: started.id })).status).toBe('cancelled')
    // cancelling an ended job changes nothing
    expect((await job('jobs.cancel', { id: started.id })).status).toBe('cancelled')
  })

  it('fails a job whose input is bad, saying why, and keeps the error', async () => {
    const [first] = await checkpoints()
    const started = await job('checkpoints.finetune', { checkpointId: first!.id, task: 'no-such-task', seeds: 1, steps: 2 })
    const done = await ended(started.id)
    expect(done.status).toBe('failed')
    expect(done.error).toContain('no-such-task')
  })

  it('refuses unknown ids with not_found and bad params naming the field, storing nothing', async () => {
    const before = engine.store.listJobs().length
    for (const [method, params] of [
      ['jobs.get', { id: 987654 }],
      ['jobs.cancel', { id: 987654 }],
      ['checkpoints.export', { checkpointId: 987654, format: 'hf', outDir: path.join(dir, 'x') }],
      ['checkpoints.finetune', { checkpointId: 987654, task: 'press-genre' }],
      ['runs.forgetting', { runId: 987654 }]
    ] as const) {
      const error = await rejection(handle(method, params))
      expect(error.code, method).toBe('not_found')
      expect(error.message).toContain('987654')
    }
    const both = await rejection(handle('checkpoints.evaluate', { checkpointId: 1, domain: 'press', textPath: '/tmp/x.txt' }))
    expect(both.code).toBe('bad_request')
    expect(both.message).toMatch(/^checkpoints\.evaluate: domain: give exactly one of domain or textPath/)
    expect((await rejection(handle('checkpoints.grow', { checkpointId: 1, addLayers: -1, addHeads: 0, mode: 'exact' }))).message).toMatch(/addLayers/)
    expect(engine.store.listJobs()).toHaveLength(before)
  })

  it('evaluates a checkpoint on a domain as a job', async () => {
    const [, last] = await checkpoints()
    const done = await ended((await job('checkpoints.evaluate', { checkpointId: last!.id, domain: 'press', maxSequences: 8 })).id)
    expect(done.status).toBe('finished')
    expect(done.result).toMatchObject({ on: 'press', sequences: 8, ci: { lo: expect.any(Number), hi: expect.any(Number) } })
    const { ppl, ci } = done.result as { ppl: number; ci: { lo: number; hi: number } }
    expect(ci.lo).toBeLessThanOrEqual(ppl)
    expect(ci.hi).toBeGreaterThanOrEqual(ppl)
    expect((done.result as { ppl: number }).ppl).toBeGreaterThan(1)
  })

  it("computes a run's forgetting matrix as a job and stores its scores", async () => {
    const before = engine.store.listEvaluations(runId).length
    const done = await ended((await job('runs.forgetting', { runId, seeds: 1, steps: 2, backwardOnly: true })).id)
    expect(done.error).toBeNull()
    const report = done.result as { runId: number; accuracy: { R: Array<Array<number | null>> } }
    expect(report.runId).toBe(runId)
    expect(report.accuracy.R.map((row) => row.map((v) => v !== null))).toEqual([
      [true, false],
      [true, true]
    ])
    expect(engine.store.listEvaluations(runId).length).toBe(before + 6) // three cells, two metrics, one seed
  })

  it('grows a checkpoint into a new folder, and imports an exported model back as a checkpoint', async () => {
    const [, last] = await checkpoints()
    const grown = await ended((await job('checkpoints.grow', { checkpointId: last!.id, addLayers: 1, addHeads: 0, mode: 'exact' })).id)
    expect(grown.error).toBeNull()
    expect(grown.result).toMatchObject({ before: { layers: 1 }, after: { layers: 2 }, mode: 'exact' })
    expect((await loadCheckpoint((grown.result as { to: string }).to, { optimizer: false })).config.layers).toBe(2)

    const hf = path.join(dir, 'hf-for-import')
    expect((await ended((await job('checkpoints.export', { checkpointId: last!.id, format: 'hf', outDir: hf })).id)).status).toBe('finished')
    const imported = await ended((await job('checkpoints.import', { path: hf })).id)
    expect(imported.error).toBeNull()
    const back = await loadCheckpoint((imported.result as { path: string }).path, { optimizer: false })
    expect(back.config).toEqual((await loadCheckpoint(last!.path, { optimizer: false })).config)
  })

  it('adds a domain as a recorded job (domains.add keeps its answer)', async () => {
    const corpus = tempDir()
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(corpus, `n${i}.txt`), `Note ${i}: the heron waited by the reeds until the water cleared. `.repeat(15))
    const added = (await handle('domains.add', { name: 'job-notes', paths: [corpus] })) as { name: string; documents: number }
    expect(added).toMatchObject({ name: 'job-notes', documents: 4 })
    const recorded = engine.store.listJobs({ kind: 'domain.add' })[0]!
    expect(recorded).toMatchObject({ status: 'finished', params: { name: 'job-notes', paths: [corpus] }, result: added })
    expect(events.some((e) => e.type === 'domains.changed')).toBe(true)
  })
})

describe('another process', () => {
  it("cancels a run this process trains when another engine on the store asks (through the owner's heartbeat)", async () => {
    const other = await Engine.open({ dbPath: engine.store.path, dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
    try {
      const run = engine.startRun({
        name: 'jobs-cancel-elsewhere',
        model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
        training: { seqLen: 32, batchSize: 8, validateEvery: 1000, validationSequences: 8, checkpointEvery: 1000 },
        stages: [{ domain: 'press', steps: 100_000 }]
      })
      await new Promise<void>((resolve) => {
        const stop = engine.events.subscribe((e) => {
          if (e.type === 'run.progress' && e.progress.runId === run.id && e.progress.step >= 2) {
            stop()
            resolve()
          }
        })
      })
      const answer = await createApiHandler(other, 'browser')('runs.cancel', { id: run.id })
      expect(answer).toMatchObject({ id: run.id, status: 'running' })
      const done = await engine.host.waitFor(run.id)
      expect(done.status).toBe('cancelled')
    } finally {
      await other.close()
    }
  })

  it('says plainly when the process training a run is gone, and marks the run failed', async () => {
    const run = engine.createRun('jobs-orphan', { n: 1 })
    engine.store.claimRun(run.id, `${os.hostname()}:4194300:gone`, null)
    engine.store.setRunStatus(run.id, 'running')
    const error = await rejection(handle('runs.cancel', { id: run.id }))
    expect(error.code).toBe('conflict')
    expect(error.message).toMatch(/cannot be cancelled: the process that trained it .*4194300.* is gone; the run was marked failed/)
    expect(engine.store.getRun(run.id).status).toBe('failed')
  })

  it('cancels a job another engine runs, through a cancel request its owner reads', async () => {
    const other = await Engine.open({ dbPath: engine.store.path, dataDir: inject('dataDir'), backend: { flag: 'wasm' } })
    try {
      const [first] = await checkpoints()
      const started = other.startJob('checkpoints.finetune', { checkpointId: first!.id, task: 'press-genre', seeds: 1, steps: 100_000 })
      const running = new Promise<void>((resolve) => {
        const stop = other.events.subscribe((e) => {
          if (e.type === 'job.progress' && e.progress.jobId === started.id) {
            stop()
            resolve()
          }
        })
      })
      await running
      const askedAt = Date.now()
      expect((await job('jobs.cancel', { id: started.id })).status).toBe('running')
      expect((await other.jobs.waitFor(started.id)).status).toBe('cancelled')
      // read within the owner's 1 s poll, then stopped at the next update
      expect(Date.now() - askedAt).toBeLessThan(6000)
    } finally {
      await other.close()
    }
  })
})

describe('over HTTP (browser mode)', () => {
  it('starts a job with POST, streams its progress over the event socket, cancels it, and stores a finished one', async () => {
    const server = await startBrowserServer({ handler: createApiHandler(engine, 'browser'), events: engine.events, rendererDir: rendererDir(), port: 0 })
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { Authorization: `Bearer ${server.token}` } })
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
      const received: ApiEvent[] = []
      const waiters: Array<() => void> = []
      socket.on('message', (data: Buffer) => {
        received.push(JSON.parse(data.toString()) as ApiEvent)
        for (const w of waiters.splice(0)) w()
      })
      const until = async (match: (e: ApiEvent) => boolean): Promise<ApiEvent> => {
        for (;;) {
          const hit = received.find(match)
          if (hit) return hit
          await new Promise<void>((resolve) => waiters.push(resolve))
        }
      }
      const rpc = async (method: string, body: unknown): Promise<{ status: number; json: any }> => {
        const response = await fetch(`${server.url}api/rpc/${method}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
          body: JSON.stringify(body)
        })
        const json = (await response.json()) as { result?: any }
        // a success is { result }, an error { error }
        return { status: response.status, json: json.result ?? json }
      }
      const [first, last] = await checkpoints()

      const long = await rpc('checkpoints.finetune', { checkpointId: first!.id, task: 'press-genre', seeds: 1, steps: 100_000 })
      expect(long.status).toBe(200)
      const progress = await until((e) => e.type === 'job.progress' && e.progress.jobId === long.json.id && (e.progress.fraction ?? 0) > 0)
      expect(progress).toMatchObject({ progress: { message: expect.stringMatching(/^seed 1\/1: update \d+\/100000$/) } })
      expect((await rpc('jobs.cancel', { id: long.json.id })).status).toBe(200)
      await until((e) => e.type === 'job.updated' && e.job.id === long.json.id && e.job.status === 'cancelled')

      const out = path.join(dir, 'hf-http')
      const exported = await rpc('checkpoints.export', { checkpointId: last!.id, format: 'hf', outDir: out })
      expect(exported.status).toBe(200)
      await until((e) => e.type === 'job.updated' && e.job.id === exported.json.id && e.job.status === 'finished')
      const stored = await rpc('jobs.get', { id: exported.json.id })
      expect(stored.json).toMatchObject({ status: 'finished', result: { path: out, checkpointSha256: last!.sha256 } })
      expect((await rpc('jobs.get', { id: 987654 })).status).toBe(404)

      // the same jobs from the CLI (another process, the checkpoint by folder) store the same results
      const cliOut = path.join(dir, 'hf-cli-same')
      const cliExport = await elle(['export', last!.path, '--out', cliOut, '--db', engine.store.path, '--json'], SAME_BACKEND)
      expect(cliExport.code, cliExport.stderr).toBe(0)
      const cliJob = JobSummary.parse((await rpc('jobs.list', { kind: 'export', limit: 1 })).json.jobs[0])
      expect(cliJob).toMatchObject({ status: 'finished', params: { checkpointPath: last!.path, outDir: cliOut, format: 'hf' } })
      const httpResult = jobResult('export', stored.json.result)
      expect(jobResult('export', cliJob.result)).toEqual({ ...httpResult, path: cliOut })
      expect(JSON.parse(cliExport.stdout)).toEqual(cliJob.result)

      const httpTune = await rpc('checkpoints.finetune', { checkpointId: first!.id, task: 'press-genre', seeds: 1, steps: 6 })
      await until((e) => e.type === 'job.updated' && e.job.id === httpTune.json.id && e.job.status === 'finished')
      const cliTune = await elle(['finetune', first!.path, '--task', 'press-genre', '--seeds', '1', '--steps', '6', '--db', engine.store.path, '--json'], SAME_BACKEND)
      expect(cliTune.code, cliTune.stderr).toBe(0)
      const tuned = (await rpc('jobs.list', { kind: 'finetune', status: 'finished', limit: 2 })).json.jobs.map((j: unknown) => JobSummary.parse(j))
      expect(tuned.map((j: JobSummary) => j.id)).toContain(httpTune.json.id)
      const [fromCli, fromHttp] = tuned.map((j: JobSummary) => jobResult('finetune', j.result))
      // seconds differ run to run; every score, the settings and where they were stored do not
      const scores = (r: JobResult<'finetune'>) => ({ ...r, seeds: r.seeds.map((x) => ({ ...x, seconds: 0 })) })
      expect(scores(fromCli!)).toEqual(scores(fromHttp!))
    } finally {
      socket.close()
      await server.close()
    }
  }, 240_000)

  it('elle finetune runs as a job that prints its progress, and Ctrl+C cancels the job (exit 130)', async () => {
    const [first] = await checkpoints()
    const child = spawn(process.execPath, [BIN, 'finetune', first!.path, '--task', 'press-genre', '--seeds', '1', '--steps', '100000', '--db', engine.store.path], {
      env: { ...process.env, ELLE_BACKEND: '', ELLE_DATA_DIR: inject('dataDir') },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve))
    // the first progress line: the job is running in the child's job worker
    await new Promise<void>((resolve, reject) => {
      // 20 s on this 2-core machine at load average 14; over 90 s at load 20
      const timer = setTimeout(() => reject(new Error(`no progress line; stderr: ${stderr}`)), 240_000)
      child.once('close', (code) => reject(new Error(`elle finetune ended (${code}) before a progress line; stderr: ${stderr}`)))
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        if (/job \d+: \d+% seed 1\/1: update \d+\/100000/.test(stderr)) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    const id = Number(/job (\d+):/.exec(stderr)![1])
    expect((await job('jobs.get', { id })).status).toBe('running')
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(stderr).toContain('cancelling the job')
    expect(stderr).toMatch(new RegExp(`elle finetune: cancelled \\(job ${id}\\)`))
    expect(await job('jobs.get', { id })).toMatchObject({ kind: 'finetune', status: 'cancelled', result: null, params: { checkpointPath: first!.path, steps: 100000 } })
  }, 300_000)
})
