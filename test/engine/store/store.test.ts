import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../../src/main/engine/store/migrations'
import { ELLE_APPLICATION_ID } from '../../../src/main/engine/store/open'
import { ExperimentStore, StoreError, type MetricPoint } from '../../../src/main/engine/store/store'
import { sha256File, tempDir } from '../../helpers/tmp'

const opened: ExperimentStore[] = []
function open(file: string, targetVersion?: number): ExperimentStore {
  const store = ExperimentStore.open(file, targetVersion === undefined ? {} : { targetVersion })
  opened.push(store)
  return store
}

afterEach(() => {
  // Every store a test leaves open must still pass SQLite's full integrity check.
  for (const store of opened.splice(0)) {
    if (store.db.open) {
      expect(store.integrityCheck()).toEqual([])
      store.close()
    }
  }
})

function expectStoreError(fn: () => unknown, code: StoreError['code'], mentions: string): void {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).code).toBe(code)
    expect((error as StoreError).message).toContain(mentions)
    return
  }
  throw new Error(`expected a StoreError(${code})`)
}

describe('opening and migrating', () => {
  it('creates a new store at the latest schema with WAL and foreign keys on', () => {
    const file = path.join(tempDir(), 'nested', 'dir', 'store.sqlite')
    const store = open(file)
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1)
    const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()
    expect(tables).toEqual(expect.arrayContaining(['domains', 'corpus_files', 'experiments', 'runs', 'stages', 'metrics', 'checkpoints', 'evaluations', 'streams']))
  })

  const hasColumn = (store: ExperimentStore, table: string, column: string): boolean =>
    (store.db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[]).includes(column)

  // Every earlier schema version, the previous one included, migrates to the latest with its data intact.
  for (const previous of MIGRATIONS.slice(0, -1).map((m) => m.version)) {
    it(`migrates a store from schema version ${previous} and keeps its data`, () => {
      const file = path.join(tempDir(), `v${previous}.sqlite`)
      const old = ExperimentStore.open(file, { targetVersion: previous })
      expect(old.schemaVersion).toBe(previous)
      expect(hasColumn(old, 'runs', 'heartbeat_at')).toBe(previous >= 3)
      expect(hasColumn(old, 'evaluations', 'settings_json')).toBe(previous >= 4)
      expect(hasColumn(old, 'runs', 'stream_id')).toBe(previous >= 5)
      expect(hasColumn(old, 'runs', 'cancel_requested_at')).toBe(previous >= 6)
      // the old version's rows are written with its own SQL, not with today's store methods
      const experiment = old.ensureExperiment('old experiment', { model: 'gpt', steps: 10, stages: [{ domain: 'press' }] })
      const run = { id: Number(old.db.prepare("INSERT INTO runs (experiment_id, status) VALUES (?, 'queued')").run(experiment.id).lastInsertRowid) }
      const points: Array<[string, number, number]> = [
        ['train-0:press', 1, 4.2],
        ['frw-12:my-domain:v2', 2, 4.1], // a domain name with '-' and ':' in it
        ['stage-0', 3, 4.0], // not the loop's label format: kept as the kind
        ['Train-1:press', 4, 3.9],
        ['train-1a:press', 5, 3.8]
      ]
      if (previous < 5) {
        const label = old.db.prepare('INSERT INTO metrics (run_id, phase, step, tokens_seen, wall_s, flops, name, value) VALUES (?, ?, ?, 64, 0.5, 1e9, ?, ?)')
        for (const [phase, step, value] of points) label.run(run.id, phase, step, 'loss', value)
      } else {
        // from v5 on the phase is stored as structure: write what v5's migration made of the labels
        const parsed = [
          ['train', 0, 'press'],
          ['frw', 12, 'my-domain:v2'],
          ['stage-0', null, null],
          ['Train-1:press', null, null],
          ['train-1a:press', null, null]
        ]
        const row = old.db.prepare('INSERT INTO metrics (run_id, kind, stage, domain, step, tokens_seen, wall_s, flops, name, value) VALUES (?, ?, ?, ?, ?, 64, 0.5, 1e9, ?, ?)')
        points.forEach(([, step, value], i) => row.run(run.id, parsed[i]![0], parsed[i]![1], parsed[i]![2], step, 'loss', value))
      }
      old.db.prepare('INSERT INTO domains (name, description) VALUES (?, ?)').run('press', 'from an old version')
      if (previous >= 2) old.db.prepare("INSERT INTO evaluations (run_id, task, domain, metric, value, seed) VALUES (?, 'press-genre', 'press', 'accuracy', 0.5, 0)").run(run.id)
      old.close()

      const store = open(file)
      expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
      expect(hasColumn(store, 'runs', 'heartbeat_at')).toBe(true)
      expect(store.getRun(run.id).experimentName).toBe('old experiment')
      // the phase label is parsed once into kind, stage and domain; every point and value is kept
      expect(store.readMetrics(run.id).map((p) => [p.step, p.phase, p.value, p.wallS, p.flops, p.tokensSeen])).toEqual([
        [1, { kind: 'train', stage: 0, domain: 'press' }, 4.2, 0.5, 1e9, 64],
        [2, { kind: 'frw', stage: 12, domain: 'my-domain:v2' }, 4.1, 0.5, 1e9, 64],
        [3, { kind: 'stage-0', stage: null, domain: null }, 4.0, 0.5, 1e9, 64],
        [4, { kind: 'Train-1:press', stage: null, domain: null }, 3.9, 0.5, 1e9, 64],
        [5, { kind: 'train-1a:press', stage: null, domain: null }, 3.8, 0.5, 1e9, 64]
      ])
      expect(hasColumn(store, 'metrics', 'phase')).toBe(false)
      // a run from before streams has none; the stream tables work on the migrated file
      expect(store.getRun(run.id).streamId).toBeNull()
      const stream = store.createStream({ name: 'mine', domains: ['press'] })
      expect(store.listStreams()).toEqual([expect.objectContaining({ id: stream.id, name: 'mine', domains: ['press'], builtin: false, runCount: 0 })])
      expect(() => store.deleteDomain('press')).toThrow(/run 1 trained on it/)
      expect(store.listDomains()).toEqual([expect.objectContaining({ name: 'press', promptSlot: null, builtin: false })])
      // the newer tables work on the migrated file
      const stage = store.addStage(run.id, { index: 0, kind: 'train', domain: 'press' })
      expect(store.getRunDetail(run.id).stages).toEqual([expect.objectContaining({ id: stage.id, kind: 'train', domain: 'press' })])
      store.claimRun(run.id, 'test-owner', '/runs/1')
      expect(store.getRunDir(run.id)).toBe('/runs/1')
      // v6: jobs and cancel requests
      const job = store.createJob('export', { checkpointId: 1 }, 'test-owner')
      expect(store.getJob(job.id)).toMatchObject({ kind: 'export', status: 'queued', params: { checkpointId: 1 } })
      expect(store.takeRunCancelRequest(run.id, 'test-owner')).toBe(false)
      // scores from before settings were recorded are kept, with unknown settings
      if (previous >= 2) expect(store.listEvaluations(run.id)).toEqual([expect.objectContaining({ task: 'press-genre', value: 0.5, settings: null })])
      store.addEvaluations([{ runId: run.id, task: 'press-genre', domain: 'press', metric: 'accuracy', value: 0.6, seed: 0, settings: { steps: 60, lr: 0.001 } }])
      expect(store.listEvaluations(run.id).at(-1)!.settings).toEqual({ lr: 0.001, steps: 60 })
    })
  }

  it('re-opening an up-to-date store changes nothing', () => {
    const file = path.join(tempDir(), 'same.sqlite')
    open(file).close()
    const store = open(file)
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
  })

  it('refuses a store written by a newer schema and leaves it untouched', () => {
    const file = path.join(tempDir(), 'newer.sqlite')
    const db = new Database(file)
    db.exec('CREATE TABLE future (x)')
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 5}`)
    db.pragma(`application_id = ${ELLE_APPLICATION_ID}`) // a newer workbench marks its stores (an unmarked one is foreign)
    db.close()
    const before = sha256File(file)
    expectStoreError(() => ExperimentStore.open(file), 'newer_schema', file)
    expectStoreError(() => ExperimentStore.open(file), 'newer_schema', `schema version ${LATEST_SCHEMA_VERSION + 5}`)
    expect(sha256File(file)).toBe(before)
    expect(fs.existsSync(`${file}-wal`)).toBe(false)
  })

  it('refuses a file that is not SQLite and never modifies it', () => {
    const file = path.join(tempDir(), 'notes.sqlite')
    fs.writeFileSync(file, 'these are my lab notes, not a database\n'.repeat(50))
    const before = sha256File(file)
    expectStoreError(() => ExperimentStore.open(file), 'not_sqlite', file)
    expect(sha256File(file)).toBe(before)
  })

  it('refuses a corrupt database and never modifies it', () => {
    const file = path.join(tempDir(), 'corrupt.sqlite')
    const store = ExperimentStore.open(file)
    const experiment = store.ensureExperiment('x', { a: 1 })
    for (let i = 0; i < 20; i++) store.createRun(experiment.id)
    store.db.pragma('wal_checkpoint(TRUNCATE)')
    store.close()
    // Keep the 100-byte header, scribble over the schema page.
    const bytes = fs.readFileSync(file)
    for (let i = 100; i < Math.min(bytes.length, 4096); i++) bytes[i] = (i * 31) & 0xff
    fs.writeFileSync(file, bytes)
    const before = sha256File(file)
    expectStoreError(() => ExperimentStore.open(file), 'corrupt', file)
    expect(sha256File(file)).toBe(before)
  })

  it('reports an unreadable path clearly', () => {
    const dir = tempDir()
    expectStoreError(() => ExperimentStore.open(dir), 'unreadable', dir)
    if (process.getuid?.() !== 0) {
      const file = path.join(dir, 'locked.sqlite')
      ExperimentStore.open(file).close()
      fs.chmodSync(file, 0o000)
      expectStoreError(() => ExperimentStore.open(file), 'unreadable', file)
    }
  })
})

describe('records', () => {
  it('finds experiments by config hash whatever the key order', () => {
    const store = open(path.join(tempDir(), 's.sqlite'))
    const a = store.ensureExperiment('one', { model: { layers: 2, hidden: 64 }, steps: 10 })
    const b = store.ensureExperiment('two', { steps: 10, model: { hidden: 64, layers: 2 } })
    const c = store.ensureExperiment('three', { steps: 11, model: { hidden: 64, layers: 2 } })
    expect(b.id).toBe(a.id)
    expect(c.id).not.toBe(a.id)
    expect(store.getExperimentConfig(a.id)).toEqual({ model: { hidden: 64, layers: 2 }, steps: 10 })
  })

  it('moves runs through their lifecycle and refuses impossible transitions', () => {
    const store = open(path.join(tempDir(), 's.sqlite'))
    const run = store.createRun(store.ensureExperiment('e', {}).id, { backend: 'wasm' })
    expect(run.status).toBe('queued')
    const running = store.setRunStatus(run.id, 'running')
    expect(running.startedAt).not.toBeNull()
    const failed = store.setRunStatus(run.id, 'failed', { error: 'loss became NaN at step 12' })
    expect(failed.error).toBe('loss became NaN at step 12')
    expect(failed.endedAt).not.toBeNull()
    expect(store.setRunStatus(run.id, 'queued').endedAt).toBeNull()
    store.setRunStatus(run.id, 'running')
    store.setRunStatus(run.id, 'finished')
    expectStoreError(() => store.setRunStatus(run.id, 'running'), 'invalid', 'cannot go from finished to running')
    expect(store.getRun(run.id).status).toBe('finished')
    expectStoreError(() => store.getRun(9999), 'not_found', '9999')
    expectStoreError(() => store.createRun(4242), 'not_found', 'experiment with id 4242')
  })

  it('refuses a duplicate domain name and keeps the stored one intact', () => {
    const store = open(path.join(tempDir(), 's.sqlite'))
    store.createDomain({ name: 'press', files: [{ path: '/c/a.txt', sha256: 'aa', bytes: 10, tokens: 3 }] })
    expectStoreError(() => store.createDomain({ name: 'press', files: [{ path: '/c/b.txt', sha256: 'bb', bytes: 99 }] }), 'conflict', 'press')
    expect(store.listDomains()).toEqual([expect.objectContaining({ name: 'press', files: 1, bytes: 10, tokens: 3 })])
  })

  it('writes metric batches atomically and reads one run back in order', () => {
    const store = open(path.join(tempDir(), 's.sqlite'))
    const experiment = store.ensureExperiment('e', {})
    const [r1, r2] = [store.createRun(experiment.id), store.createRun(experiment.id)]
    const points = (runId: number, n: number): MetricPoint[] =>
      Array.from({ length: n }, (_, i) => ({
        runId,
        phase: { kind: 'train', stage: 0, domain: null },
        step: n - i,
        tokensSeen: (n - i) * 10,
        wallS: i,
        flops: i * 1e6,
        name: i % 2 ? 'loss' : 'ppl',
        value: i
      }))
    store.insertMetrics(points(r1!.id, 500))
    store.insertMetrics(points(r2!.id, 7))
    const read = store.readMetrics(r1!.id)
    expect(read).toHaveLength(500)
    expect(read.every((p) => p.runId === r1!.id)).toBe(true)
    const losses = store.readMetrics(r1!.id, { name: 'loss' })
    expect(losses).toHaveLength(250)
    expect(losses.map((p) => p.step)).toEqual([...losses.map((p) => p.step)].sort((a, b) => a - b))
    // a batch with one bad point (unknown run) is rolled back whole
    expect(() => store.insertMetrics([...points(r2!.id, 3).map((p) => ({ ...p, step: p.step + 100 })), { ...points(r2!.id, 1)[0]!, runId: 777 }])).toThrow(/FOREIGN KEY/)
    expect(store.readMetrics(r2!.id)).toHaveLength(7)
    // re-logging a step (after a resume) replaces the point instead of duplicating it
    store.insertMetrics([{ runId: r2!.id, phase: { kind: 'train', stage: 0, domain: null }, step: 1, tokensSeen: 10, wallS: 0, flops: 0, name: 'ppl', value: 123 }])
    const ppl = store.readMetrics(r2!.id, { name: 'ppl' })
    expect(ppl.filter((p) => p.step === 1)).toEqual([expect.objectContaining({ value: 123 })])
  })

  it('stores checkpoints, stages and evaluations per run', () => {
    const store = open(path.join(tempDir(), 's.sqlite'))
    const run = store.createRun(store.ensureExperiment('e', {}).id)
    const stage = store.addStage(run.id, { index: 0, kind: 'train', domain: 'press', params: { steps: 10 } })
    store.setStageStatus(stage.id, 'running')
    store.setStageStatus(stage.id, 'finished')
    const checkpoint = store.addCheckpoint({ runId: run.id, stageId: stage.id, step: 10, path: '/ckpt/10', bytes: 1234, sha256: 'ff' })
    store.addEvaluations([
      { runId: run.id, checkpointId: checkpoint.id, task: 'press-genre', domain: 'press', metric: 'accuracy', value: 0.7, seed: 0 },
      { runId: run.id, checkpointId: checkpoint.id, task: 'press-genre', domain: 'press', metric: 'accuracy', value: 0.72, seed: 1 }
    ])
    expect(store.listCheckpoints(run.id)).toEqual([expect.objectContaining({ step: 10, stageId: stage.id, bytes: 1234 })])
    expect(store.listEvaluations(run.id).map((e) => e.seed)).toEqual([0, 1])
    expect(store.getRunDetail(run.id).stages[0]).toEqual(expect.objectContaining({ status: 'finished', endedAt: expect.any(String) }))
  })
})
