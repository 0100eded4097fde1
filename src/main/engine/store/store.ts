// The experiment store: one SQLite file holding domains, experiments, runs, stages, metrics,
// checkpoints and evaluations. All SQL lives here; callers get typed rows.
import { createHash } from 'node:crypto'
import type Database from 'better-sqlite3'
import type {
  DomainSummary,
  ExperimentSummary,
  JobKind,
  JobProgress,
  JobStatus,
  JobSummary,
  RunDetail,
  RunStatus,
  RunSummary,
  SavedExperiment,
  SavedExperimentSummary,
  StageSummary,
  StreamSummary
} from '../../../shared/contract'
import { methodName, planStages, type ThroughputSample } from '../../../shared/designer'
import { RunConfig, type RunConfigInput } from '../../../shared/run-config'
import type { PhaseRef } from '../../../shared/metrics'
import { openDatabase, StoreError, type OpenOptions } from './open'
import { SeriesStore } from './series'

export { StoreError } from './open'

export interface CorpusFileInput {
  path: string
  sha256: string
  bytes: number
  documents?: number | null
  tokens?: number | null
}

export interface MetricPoint {
  runId: number
  /** the phase of the run the point was recorded in (kind, configured stage, domain) */
  phase: PhaseRef
  step: number
  tokensSeen: number
  wallS: number
  flops: number
  name: string
  value: number
}

export interface CheckpointRecord {
  id: number
  runId: number
  stageId: number | null
  step: number
  path: string
  bytes: number
  sha256: string
  createdAt: string
}

export interface EvaluationInput {
  runId: number
  checkpointId?: number | null
  task: string
  domain: string
  metric: string
  value: number
  seed: number
  /** The fine-tuning settings the score was made with (null: recorded before schema v4, unknown). Scores
   *  are only comparable, and only reused, under equal settings. */
  settings?: EvaluationSettings | null
}

/** Fine-tuning settings as stored with a score: flat numbers (null: the default or "none"). */
export type EvaluationSettings = Readonly<Record<string, number | null>>

/** One text per settings, independent of key order: what scores are matched by. */
export function settingsKey(settings: EvaluationSettings | null | undefined): string | null {
  if (!settings) return null
  return JSON.stringify(Object.fromEntries(Object.entries(settings).sort(([a], [b]) => a.localeCompare(b))))
}

/** How long a run's owner keeps it without renewing its lease (its heartbeat renews it every 5 s). After
 *  that another process may recover the run and train it; the old owner's writes are then refused. */
export const LEASE_SECONDS = 60

/** SQL: is the run's lease (heartbeat_at + ? seconds) over, or was it never taken? */
const LEASE_EXPIRED = "(heartbeat_at IS NULL OR julianday('now') - julianday(heartbeat_at) > ? / 86400.0)"

/** All of the queue's slots are taken (by runs of any process): the run stays queued and starts when one is free. */
export class SlotsBusyError extends StoreError {
  constructor(message: string) {
    super('conflict', message)
    this.name = 'SlotsBusyError'
  }
}

/** A metrics row as read raw: run_id, kind, stage, domain, step, tokens_seen, wall_s, flops, name, value. */
type MetricRow = [number, string, number | null, string | null, number, number, number, number, string, number]

const pointOf = ([run, kind, stage, domain, step, tokensSeen, wallS, flops, name, value]: MetricRow): MetricPoint => ({
  runId: run,
  phase: { kind, stage, domain },
  step,
  tokensSeen,
  wallS,
  flops,
  name,
  value
})

/** This process does not own the run any more (another process took it over after a stall); it must stop
 *  without writing. */
export class LeaseLostError extends StoreError {
  constructor(message: string) {
    super('conflict', message)
    this.name = 'LeaseLostError'
  }
}

/** Which status changes a run may make; everything else is a bug in the caller and is refused. */
const RUN_TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['running', 'cancelled'],
  running: ['paused', 'finished', 'failed', 'cancelled'],
  paused: ['running', 'queued', 'cancelled', 'failed'],
  failed: ['queued'],
  cancelled: ['queued'],
  finished: []
}

/** Canonical JSON (sorted keys) so that equal configs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v
  )
}

type RunRow = {
  id: number
  experiment_id: number
  experiment_name: string
  status: RunStatus
  backend: string | null
  created_at: string
  started_at: string | null
  ended_at: string | null
  error: string | null
  stream_id: number | null
}

const RUN_SELECT = `
  SELECT r.id, r.experiment_id, e.name AS experiment_name, r.status, r.backend,
         r.created_at, r.started_at, r.ended_at, r.error, r.stream_id
  FROM runs r JOIN experiments e ON e.id = r.experiment_id`

function toRunSummary(row: RunRow): RunSummary {
  return {
    id: row.id,
    experimentId: row.experiment_id,
    experimentName: row.experiment_name,
    status: row.status,
    backend: row.backend,
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    error: row.error,
    streamId: row.stream_id
  }
}

type SavedRow = { id: number; name: string; config_json: string; created_at: string; updated_at: string }
const SAVED_SELECT = 'SELECT id, name, config_json, created_at, updated_at FROM saved_experiments'

function parseSavedConfig(row: SavedRow): RunConfig {
  const parsed = RunConfig.safeParse(JSON.parse(row.config_json))
  if (!parsed.success)
    throw new StoreError('invalid', `saved experiment ${row.id} ("${row.name}") holds a config this workbench cannot read: ${parsed.error.issues[0]?.message ?? ''}`)
  return parsed.data
}

function toSavedSummary(row: SavedRow, config: RunConfig): SavedExperimentSummary {
  return { id: row.id, name: row.name, method: methodName(config), domains: config.stages.map((s) => s.domain), createdAt: row.created_at, updatedAt: row.updated_at }
}

/** "runs 3, 5 and 9" (at most 10 named): who uses a stream or domain that cannot be deleted. */
function namedRuns(ids: readonly number[]): string {
  const shown = ids.slice(0, 10).join(', ')
  return `${ids.length === 1 ? 'run' : 'runs'} ${shown}${ids.length > 10 ? ` and ${ids.length - 10} more` : ''}`
}

type JobRow = {
  id: number
  kind: JobKind
  params_json: string
  status: JobStatus
  progress_json: string | null
  result_json: string | null
  error: string | null
  owner: string | null
  created_at: string
  started_at: string | null
  ended_at: string | null
}

const JOB_SELECT = 'SELECT id, kind, params_json, status, progress_json, result_json, error, owner, created_at, started_at, ended_at FROM jobs'

function toJobSummary(row: JobRow): JobSummary {
  return {
    id: row.id,
    kind: row.kind,
    params: JSON.parse(row.params_json) as Record<string, unknown>,
    status: row.status,
    progress: row.progress_json === null ? null : (JSON.parse(row.progress_json) as JobProgress),
    result: row.result_json === null ? null : (JSON.parse(row.result_json) as Record<string, unknown>),
    error: row.error,
    owner: row.owner,
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at
  }
}

export class ExperimentStore {
  private insertMetricStatement: Database.Statement | null = null
  /** column reads of series and the metric blocks kept with every insert (store/series.ts) */
  readonly series: SeriesStore
  private readonly insertMetricsBatch: Database.Transaction<(points: readonly MetricPoint[], owner: string | undefined) => void>

  private constructor(
    readonly db: Database.Database,
    readonly path: string
  ) {
    this.series = new SeriesStore(db)
    this.insertMetricsBatch = db.transaction((points: readonly MetricPoint[], owner: string | undefined) => {
      if (owner !== undefined) this.assertOwner(points[0]!.runId, owner)
      for (const p of points) this.insertMetric.run(p.runId, p.phase.kind, p.phase.stage, p.phase.domain, p.step, p.tokensSeen, p.wallS, p.flops, p.name, p.value)
      this.series.afterInsert(points)
    })
  }

  // prepared on first use: a store opened at an earlier schema version (tests build them) has other columns
  private get insertMetric(): Database.Statement {
    this.insertMetricStatement ??= this.db.prepare(
      'INSERT OR REPLACE INTO metrics (run_id, kind, stage, domain, step, tokens_seen, wall_s, flops, name, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
    )
    return this.insertMetricStatement
  }

  static open(file: string, options: OpenOptions = {}): ExperimentStore {
    return new ExperimentStore(openDatabase(file, options), file)
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number
  }

  close(): void {
    if (this.db.open) this.db.close()
  }

  /** SQLite's full integrity check; returns the problems found (empty when healthy). */
  integrityCheck(): string[] {
    const rows = this.db.pragma('integrity_check') as Array<{ integrity_check: string }>
    const fk = this.db.pragma('foreign_key_check') as unknown[]
    return [...rows.map((r) => r.integrity_check).filter((m) => m !== 'ok'), ...fk.map((r) => `foreign key: ${JSON.stringify(r)}`)]
  }

  // ---- domains -------------------------------------------------------------------------------

  createDomain(input: {
    name: string
    description?: string | null
    files: readonly CorpusFileInput[]
    /** how to read the corpus again (paths, format, text field), as the data layer's CorpusSource */
    source?: unknown
    /** a fixed slot, none, or `{ auto }`: the lowest free slot in [from, slots), chosen inside the insert's transaction */
    promptSlot?: number | null | { auto: { slots: number; from?: number } }
    builtin?: boolean
  }): DomainSummary {
    const create = this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM domains WHERE name = ?').get(input.name)) {
        throw new StoreError('conflict', `domain "${input.name}" already exists; choose another name`)
      }
      let slot: number | null
      if (input.promptSlot != null && typeof input.promptSlot === 'object') {
        // Read and insert under one write lock: another process adding a domain at the same time waits
        // (busy_timeout) and then sees this slot taken, instead of both picking it.
        const { slots, from = 0 } = input.promptSlot.auto
        slot = this.freePromptSlot(slots, from)
        if (slot === null) throw new StoreError('conflict', `all ${slots} prompt slots are taken; no more domains can be added to this workbench`)
      } else {
        slot = input.promptSlot ?? null
        if (slot !== null && this.db.prepare('SELECT 1 FROM domains WHERE prompt_slot = ?').get(slot)) {
          throw new StoreError('conflict', `prompt slot ${slot} is already taken`)
        }
      }
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO domains (name, description, source_json, prompt_slot, builtin) VALUES (?, ?, ?, ?, ?)')
        .run(input.name, input.description ?? null, input.source === undefined ? null : JSON.stringify(input.source), slot, input.builtin ? 1 : 0)
      const insertFile = this.db.prepare('INSERT INTO corpus_files (domain_id, path, sha256, bytes, documents, tokens) VALUES (?, ?, ?, ?, ?, ?)')
      for (const f of input.files) insertFile.run(lastInsertRowid, f.path, f.sha256, f.bytes, f.documents ?? null, f.tokens ?? null)
      return Number(lastInsertRowid)
    })
    // IMMEDIATE: the write lock is taken before the reads. A deferred transaction would read a snapshot
    // that another connection's insert makes stale, and its own insert would then fail (SQLITE_BUSY).
    return this.getDomain(create.immediate())
  }

  getDomain(id: number): DomainSummary {
    const domain = this.listDomains().find((d) => d.id === id)
    if (!domain) throw new StoreError('not_found', `no domain with id ${id}`)
    return domain
  }

  findDomain(name: string): (DomainSummary & { source: unknown }) | null {
    const row = this.db.prepare('SELECT id, source_json FROM domains WHERE name = ?').get(name) as { id: number; source_json: string | null } | undefined
    if (!row) return null
    return { ...this.getDomain(row.id), source: row.source_json === null ? null : (JSON.parse(row.source_json) as unknown) }
  }

  /** The lowest prompt slot no domain holds, or null when all `slots` are taken. To take a slot, let
   *  createDomain choose it (`promptSlot: { auto }`): a slot read here may be taken by another process before
   *  a later insert. */
  freePromptSlot(slots: number, from = 0): number | null {
    const taken = new Set(this.db.prepare('SELECT prompt_slot FROM domains WHERE prompt_slot IS NOT NULL').pluck().all() as number[])
    for (let slot = from; slot < slots; slot++) if (!taken.has(slot)) return slot
    return null
  }

  listDomains(): DomainSummary[] {
    const rows = this.db
      .prepare(
        `SELECT d.id, d.name, d.description, d.created_at, d.prompt_slot, d.builtin,
                COUNT(f.id) AS files, COALESCE(SUM(f.bytes), 0) AS bytes,
                CASE WHEN COUNT(f.id) = 0 OR COUNT(f.tokens) < COUNT(f.id) THEN NULL ELSE SUM(f.tokens) END AS tokens
         FROM domains d LEFT JOIN corpus_files f ON f.domain_id = d.id
         GROUP BY d.id ORDER BY d.builtin DESC, COALESCE(d.prompt_slot, 1e9), d.id`
      )
      .all() as Array<{
      id: number
      name: string
      description: string | null
      created_at: string
      prompt_slot: number | null
      builtin: number
      files: number
      bytes: number
      tokens: number | null
    }>
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      files: r.files,
      bytes: r.bytes,
      tokens: r.tokens,
      promptSlot: r.prompt_slot,
      builtin: r.builtin === 1,
      createdAt: r.created_at
    }))
  }

  /** Ids of runs whose config trains on this domain (any stage), oldest first. */
  private runsUsingDomain(name: string): number[] {
    return this.db
      .prepare(
        `SELECT DISTINCT r.id FROM runs r JOIN experiments e ON e.id = r.experiment_id, json_each(e.config_json, '$.stages') s
         WHERE CASE WHEN s.type = 'object' THEN json_extract(s.value, '$.domain') END = ? ORDER BY r.id`
      )
      .pluck()
      .all(name) as number[]
  }

  /** Delete a domain (by id or name) and its corpus records. Refused while a stream lists it or a run used it. */
  deleteDomain(ref: number | string): DomainSummary {
    return this.db
      .transaction(() => {
        const domain = typeof ref === 'number' ? this.getDomain(ref) : this.findDomain(ref)
        if (!domain) throw new StoreError('not_found', `no domain named "${String(ref)}"`)
        const runs = this.runsUsingDomain(domain.name)
        if (runs.length > 0) throw new StoreError('conflict', `domain "${domain.name}" cannot be deleted: ${namedRuns(runs)} trained on it`)
        const streams = this.db
          .prepare('SELECT DISTINCT s.name FROM streams s JOIN stream_domains sd ON sd.stream_id = s.id WHERE sd.domain_id = ? ORDER BY s.name')
          .pluck()
          .all(domain.id) as string[]
        if (streams.length > 0)
          throw new StoreError(
            'conflict',
            `domain "${domain.name}" cannot be deleted: it is part of stream${streams.length === 1 ? '' : 's'} ${streams.map((n) => `"${n}"`).join(', ')}`
          )
        this.db.prepare('DELETE FROM domains WHERE id = ?').run(domain.id)
        return domain
      })
      .immediate()
  }

  /** A domain by id or name; not_found names what was asked for. */
  domainByRef(ref: number | string): DomainSummary & { source: unknown } {
    const found = this.findDomain(typeof ref === 'number' ? ((this.db.prepare('SELECT name FROM domains WHERE id = ?').pluck().get(ref) as string | undefined) ?? '') : ref)
    if (!found) throw new StoreError('not_found', typeof ref === 'number' ? `no domain with id ${ref}` : `no domain named "${ref}"`)
    return found
  }

  /** Documents over a domain's files (null when a file's count was not recorded). */
  domainDocuments(id: number): number | null {
    const row = this.db.prepare('SELECT COUNT(*) AS n, COUNT(documents) AS counted, COALESCE(SUM(documents), 0) AS docs FROM corpus_files WHERE domain_id = ?').get(id) as {
      n: number
      counted: number
      docs: number
    }
    return row.n === 0 || row.counted < row.n ? null : row.docs
  }

  /** The runs whose stages trained on a domain, oldest first, with their experiment's name and status. */
  domainRuns(name: string): Array<{ id: number; name: string; status: RunStatus }> {
    const ids = this.runsUsingDomain(name)
    return ids.map((id) => {
      const run = this.getRun(id)
      return { id, name: run.experimentName, status: run.status }
    })
  }

  /** The streams that list a domain, by name. */
  domainStreams(id: number): Array<{ id: number; name: string }> {
    return this.db
      .prepare('SELECT DISTINCT s.id, s.name FROM streams s JOIN stream_domains sd ON sd.stream_id = s.id WHERE sd.domain_id = ? ORDER BY s.builtin DESC, s.id')
      .all(id) as Array<{ id: number; name: string }>
  }

  /**
   * Rename a domain. Refused for built-in domains and while runs trained on it (naming them): a run's config,
   * metrics and experiment hash record the domain by name. Streams list domains by id, so they follow; saved
   * experiments (designs, not records) have their stages renamed in the same transaction.
   * Returns the renamed domain and how many saved experiments changed.
   */
  renameDomain(ref: number | string, newName: string): { domain: DomainSummary; savedChanged: number } {
    return this.db
      .transaction(() => {
        const domain = this.domainByRef(ref)
        if (domain.builtin) throw new StoreError('conflict', `domain "${domain.name}" is part of the built-in stream and cannot be renamed`)
        if (newName === domain.name) return { domain, savedChanged: 0 }
        const runs = this.runsUsingDomain(domain.name)
        if (runs.length > 0)
          throw new StoreError(
            'conflict',
            `domain "${domain.name}" cannot be renamed: ${namedRuns(runs)} trained on it and record it by name; add the corpus again under the new name instead`
          )
        if (this.db.prepare('SELECT 1 FROM domains WHERE name = ?').get(newName)) throw new StoreError('conflict', `domain "${newName}" already exists; choose another name`)
        this.db.prepare('UPDATE domains SET name = ? WHERE id = ?').run(newName, domain.id)
        let savedChanged = 0
        const saved = this.db.prepare('SELECT id, config_json FROM saved_experiments').all() as Array<{ id: number; config_json: string }>
        for (const row of saved) {
          const config = JSON.parse(row.config_json) as { stages?: Array<{ domain?: unknown }> }
          if (!Array.isArray(config.stages) || !config.stages.some((st) => st.domain === domain.name)) continue
          config.stages = config.stages.map((st) => (st.domain === domain.name ? { ...st, domain: newName } : st))
          this.db.prepare(`UPDATE saved_experiments SET config_json = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`).run(JSON.stringify(config), row.id)
          savedChanged++
        }
        return { domain: this.getDomain(domain.id), savedChanged }
      })
      .immediate()
  }

  // ---- streams -------------------------------------------------------------------------------

  listStreams(): StreamSummary[] {
    const rows = this.db
      .prepare(
        `SELECT s.id, s.name, s.builtin, s.created_at,
                (SELECT json_group_array(name) FROM (SELECT d.name FROM stream_domains sd JOIN domains d ON d.id = sd.domain_id WHERE sd.stream_id = s.id ORDER BY sd.position)) AS domains,
                (SELECT COUNT(*) FROM runs r WHERE r.stream_id = s.id) AS runs
         FROM streams s ORDER BY s.builtin DESC, s.id`
      )
      .all() as Array<{ id: number; name: string; builtin: number; created_at: string; domains: string; runs: number }>
    return rows.map((r) => ({ id: r.id, name: r.name, builtin: r.builtin === 1, domains: JSON.parse(r.domains) as string[], runCount: r.runs, createdAt: r.created_at }))
  }

  getStream(id: number): StreamSummary {
    const stream = this.listStreams().find((s) => s.id === id)
    if (!stream) throw new StoreError('not_found', `no stream with id ${id}`)
    return stream
  }

  /** A stream by id, or by name (a string); null when there is none. */
  findStream(ref: number | string): StreamSummary | null {
    return this.listStreams().find((s) => (typeof ref === 'number' ? s.id === ref : s.name === ref)) ?? null
  }

  /** The stream whose domains are exactly these, in this order: the built-in one first, else the oldest. */
  matchStream(domains: readonly string[]): StreamSummary | null {
    return this.listStreams().find((s) => s.domains.length === domains.length && s.domains.every((d, i) => d === domains[i])) ?? null
  }

  /** Domain ids for a stream's list, refusing unknown and repeated names (the field is named). */
  private streamDomainIds(domains: readonly string[]): number[] {
    if (domains.length === 0) throw new StoreError('invalid', 'domains: a stream needs at least one domain')
    return domains.map((name, i) => {
      if (domains.indexOf(name) !== i) throw new StoreError('invalid', `domains.${i}: "${name}" is listed twice; a stream visits each domain once`)
      const id = this.db.prepare('SELECT id FROM domains WHERE name = ?').pluck().get(name) as number | undefined
      if (id === undefined) throw new StoreError('invalid', `domains.${i}: unknown domain "${name}"`)
      return id
    })
  }

  private writeStreamDomains(streamId: number, domainIds: readonly number[]): void {
    this.db.prepare('DELETE FROM stream_domains WHERE stream_id = ?').run(streamId)
    const insert = this.db.prepare('INSERT INTO stream_domains (stream_id, position, domain_id) VALUES (?, ?, ?)')
    domainIds.forEach((domainId, position) => insert.run(streamId, position, domainId))
  }

  private assertStreamNameFree(name: string, except?: number): void {
    const holder = this.db.prepare('SELECT id FROM streams WHERE name = ?').pluck().get(name) as number | undefined
    if (holder !== undefined && holder !== except) throw new StoreError('conflict', `stream "${name}" already exists; choose another name`)
  }

  createStream(input: { name: string; domains: readonly string[]; builtin?: boolean }): StreamSummary {
    const id = this.db
      .transaction(() => {
        this.assertStreamNameFree(input.name)
        const domainIds = this.streamDomainIds(input.domains)
        const streamId = Number(this.db.prepare('INSERT INTO streams (name, builtin) VALUES (?, ?)').run(input.name, input.builtin ? 1 : 0).lastInsertRowid)
        this.writeStreamDomains(streamId, domainIds)
        return streamId
      })
      .immediate()
    return this.getStream(id)
  }

  private streamRuns(id: number): number[] {
    return this.db.prepare('SELECT id FROM runs WHERE stream_id = ? ORDER BY id').pluck().all(id) as number[]
  }

  private editableStream(id: number, what: string): StreamSummary {
    const stream = this.getStream(id)
    if (stream.builtin) throw new StoreError('conflict', `the built-in stream "${stream.name}" cannot be ${what}; create a copy of it with streams.create and change that`)
    return stream
  }

  /** Rename a stream or change its domains. Its domains stay as they are while runs that ran on it exist. */
  updateStream(id: number, changes: { name?: string; domains?: readonly string[] }): StreamSummary {
    this.db
      .transaction(() => {
        const stream = this.editableStream(id, 'changed')
        if (changes.name !== undefined) {
          this.assertStreamNameFree(changes.name, id)
          this.db.prepare('UPDATE streams SET name = ? WHERE id = ?').run(changes.name, id)
        }
        if (changes.domains !== undefined) {
          const domainIds = this.streamDomainIds(changes.domains)
          const same = changes.domains.length === stream.domains.length && changes.domains.every((d, i) => d === stream.domains[i])
          const runs = this.streamRuns(id)
          if (!same && runs.length > 0)
            throw new StoreError('conflict', `the domains of stream "${stream.name}" cannot change: ${namedRuns(runs)} ran on it; create a new stream instead`)
          this.writeStreamDomains(id, domainIds)
        }
      })
      .immediate()
    return this.getStream(id)
  }

  /** A copy of a stream (the built-in one too) under a new name: editable, and no run recorded it. */
  duplicateStream(id: number, name: string): StreamSummary {
    const source = this.getStream(id)
    return this.createStream({ name, domains: source.domains })
  }

  deleteStream(id: number): StreamSummary {
    return this.db
      .transaction(() => {
        const stream = this.editableStream(id, 'deleted')
        const runs = this.streamRuns(id)
        if (runs.length > 0) throw new StoreError('conflict', `stream "${stream.name}" cannot be deleted: ${namedRuns(runs)} ran on it`)
        this.db.prepare('DELETE FROM streams WHERE id = ?').run(id)
        return stream
      })
      .immediate()
  }

  /**
   * Register the built-in stream (once its domains are registered) and record it on earlier runs whose
   * stages trained on exactly its domains, as runs started later do. Returns it; a no-op when it exists.
   */
  ensureBuiltinStream(name: string, domains: readonly string[]): StreamSummary {
    const existing = this.listStreams().find((s) => s.builtin)
    if (existing) return existing
    const id = this.db
      .transaction(() => {
        const again = this.db.prepare('SELECT id FROM streams WHERE builtin = 1').pluck().get() as number | undefined
        if (again !== undefined) return again // another process registered it first
        let streamName = name
        for (let n = 2; this.db.prepare('SELECT 1 FROM streams WHERE name = ?').get(streamName); n++) streamName = `${name} (built-in ${n})`
        const streamId = Number(this.db.prepare('INSERT INTO streams (name, builtin) VALUES (?, 1)').run(streamName).lastInsertRowid)
        this.writeStreamDomains(streamId, this.streamDomainIds(domains))
        const unrecorded = this.db.prepare('SELECT r.id, e.config_json FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.stream_id IS NULL').all() as Array<{
          id: number
          config_json: string
        }>
        const setStream = this.db.prepare('UPDATE runs SET stream_id = ? WHERE id = ?')
        for (const run of unrecorded) {
          const stages = (JSON.parse(run.config_json) as { stages?: unknown }).stages
          const order = Array.isArray(stages) ? stages.map((st) => (st && typeof st === 'object' ? (st as { domain?: unknown }).domain : undefined)) : []
          if (order.length === domains.length && order.every((d, i) => d === domains[i])) setStream.run(streamId, run.id)
        }
        return streamId
      })
      .immediate()
    return this.getStream(id)
  }

  // ---- experiments ---------------------------------------------------------------------------

  /** Find or create the experiment for this exact config (by canonical hash). */
  ensureExperiment(name: string, config: unknown): ExperimentSummary {
    const json = canonicalJson(config)
    const hash = createHash('sha256').update(json).digest('hex')
    this.db.prepare('INSERT INTO experiments (name, config_json, config_hash) VALUES (?, ?, ?) ON CONFLICT(config_hash) DO NOTHING').run(name, json, hash)
    const row = this.db.prepare('SELECT id FROM experiments WHERE config_hash = ?').get(hash) as { id: number }
    return this.getExperiment(row.id)
  }

  getExperiment(id: number): ExperimentSummary {
    const row = this.db
      .prepare(
        `SELECT e.id, e.name, e.config_hash, e.created_at, COUNT(r.id) AS run_count
         FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id WHERE e.id = ? GROUP BY e.id`
      )
      .get(id) as { id: number; name: string; config_hash: string; created_at: string; run_count: number } | undefined
    if (!row) throw new StoreError('not_found', `no experiment with id ${id}`)
    return { id: row.id, name: row.name, configHash: row.config_hash, createdAt: row.created_at, runCount: row.run_count }
  }

  getExperimentConfig(id: number): unknown {
    const row = this.db.prepare('SELECT config_json FROM experiments WHERE id = ?').get(id) as { config_json: string } | undefined
    if (!row) throw new StoreError('not_found', `no experiment with id ${id}`)
    return JSON.parse(row.config_json) as unknown
  }

  listExperiments(): ExperimentSummary[] {
    const ids = this.db.prepare('SELECT id FROM experiments ORDER BY id DESC').pluck().all() as number[]
    return ids.map((id) => this.getExperiment(id))
  }

  // ---- saved experiments (designed, kept by name, not necessarily run) ------------------------

  listSavedExperiments(): SavedExperimentSummary[] {
    const rows = this.db.prepare(`${SAVED_SELECT} ORDER BY updated_at DESC, id DESC`).all() as SavedRow[]
    return rows.map((row) => toSavedSummary(row, parseSavedConfig(row)))
  }

  getSavedExperiment(id: number): SavedExperiment {
    const row = this.db.prepare(`${SAVED_SELECT} WHERE id = ?`).get(id) as SavedRow | undefined
    if (!row) throw new StoreError('not_found', `no saved experiment with id ${id}`)
    const config = parseSavedConfig(row)
    return { ...toSavedSummary(row, config), config }
  }

  /** Create (no id) or replace (id) a saved experiment; its config must satisfy the shared schema. */
  saveExperiment(input: { id?: number; name: string; config: RunConfigInput }): SavedExperiment {
    const checked = RunConfig.safeParse(input.config)
    if (!checked.success) throw new StoreError('invalid', checked.error.issues.map((i) => `config.${i.path.join('.')}: ${i.message}`).join('; '))
    const json = JSON.stringify(checked.data)
    const id = this.db
      .transaction(() => {
        const holder = this.db.prepare('SELECT id FROM saved_experiments WHERE name = ?').pluck().get(input.name) as number | undefined
        if (holder !== undefined && holder !== input.id)
          throw new StoreError('conflict', `a saved experiment named "${input.name}" already exists (id ${holder}); choose another name`)
        if (input.id === undefined) return Number(this.db.prepare('INSERT INTO saved_experiments (name, config_json) VALUES (?, ?)').run(input.name, json).lastInsertRowid)
        const changed = this.db
          .prepare(`UPDATE saved_experiments SET name = ?, config_json = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`)
          .run(input.name, json, input.id).changes
        if (changed === 0) throw new StoreError('not_found', `no saved experiment with id ${input.id}`)
        return input.id
      })
      .immediate()
    return this.getSavedExperiment(id)
  }

  deleteSavedExperiment(id: number): SavedExperimentSummary {
    return this.db
      .transaction(() => {
        const saved = this.getSavedExperiment(id)
        this.db.prepare('DELETE FROM saved_experiments WHERE id = ?').run(id)
        const { config: _config, ...summary } = saved
        return summary
      })
      .immediate()
  }

  /**
   * The throughput training stages of earlier runs reached on a backend: per run and stage, tokens and FLOPs
   * over wall seconds between its first and last recorded loss, with the shape that stage trained.
   */
  throughputSamples(backend: string, limit = 200): ThroughputSample[] {
    // Per run, each train phase's first and last loss point (phaseExtents) instead of a GROUP BY over every loss
    // point of every run: that scanned all of them (2-3 s for 100 runs of 100,000 steps) on each queue.list.
    const runs = this.db
      .prepare('SELECT r.id, e.config_json FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.backend = ? ORDER BY r.id DESC')
      .all(backend) as Array<{ id: number; config_json: string }>
    const cols = 'run_id, kind, stage, domain, step, tokens_seen, wall_s, flops, name, value'
    const first = this.db.prepare(`SELECT ${cols} FROM metrics WHERE run_id = ? AND name = 'loss' ORDER BY step LIMIT 1`).raw()
    const last = this.db.prepare(`SELECT ${cols} FROM metrics WHERE run_id = ? AND name = 'loss' ORDER BY step DESC LIMIT 1`).raw()
    const rows: Array<{ run_id: number; stage: number; config_json: string; tokens: number; flops: number; wall: number }> = []
    for (const run of runs) {
      if (rows.length >= limit) break
      const a = first.get(run.id) as MetricRow | undefined
      const b = last.get(run.id) as MetricRow | undefined
      if (!a || !b) continue
      // per stage, the extent of its train phases (values only grow with the step)
      const stages = new Map<number, { lo: MetricRow; hi: MetricRow }>()
      for (const [start, end] of this.phaseExtents(run.id, 'loss', a, b)) {
        const [, kind, stage] = start
        if (kind !== 'train' || stage === null) continue
        const known = stages.get(stage)
        stages.set(stage, { lo: known?.lo ?? start, hi: end })
      }
      for (const [stage, { lo, hi }] of [...stages].sort((x, y) => x[0] - y[0])) {
        const tokens = hi[5] - lo[5]
        const wall = hi[6] - lo[6]
        const flops = hi[7] - lo[7]
        if (wall > 0 && tokens > 0 && flops > 0 && rows.length < limit) rows.push({ run_id: run.id, stage, config_json: run.config_json, tokens, flops, wall })
      }
    }
    const samples: ThroughputSample[] = []
    for (const row of rows) {
      const parsed = RunConfig.safeParse(JSON.parse(row.config_json))
      if (!parsed.success) continue // a config an older workbench stored that the schema no longer reads
      const plan = planStages(parsed.data)[row.stage]
      if (!plan) continue
      const t = parsed.data.training
      samples.push({
        runId: row.run_id,
        stage: row.stage,
        backend,
        kind: plan.shape.kind,
        layers: plan.shape.layers,
        hidden: plan.shape.hidden,
        ffn: plan.shape.ffn,
        seqLen: t.seqLen,
        batchSize: t.batchSize,
        tokensPerS: row.tokens / row.wall,
        flopsPerS: row.flops / row.wall
      })
    }
    return samples
  }

  // ---- runs ----------------------------------------------------------------------------------

  /** Queue a run; `streamId` records the stream it runs on (null: its domains match no stream). */
  createRun(experimentId: number, options: { backend?: string | null; streamId?: number | null } = {}): RunSummary {
    this.getExperiment(experimentId) // names the missing experiment instead of a bare FK failure
    if (options.streamId != null) this.getStream(options.streamId)
    const { lastInsertRowid } = this.db
      .prepare("INSERT INTO runs (experiment_id, status, backend, stream_id) VALUES (?, 'queued', ?, ?)")
      .run(experimentId, options.backend ?? null, options.streamId ?? null)
    return this.getRun(Number(lastInsertRowid))
  }

  getRun(id: number): RunSummary {
    const row = this.db.prepare(`${RUN_SELECT} WHERE r.id = ?`).get(id) as RunRow | undefined
    if (!row) throw new StoreError('not_found', `no run with id ${id}`)
    return toRunSummary(row)
  }

  listRuns(filter: { status?: RunStatus; limit?: number } = {}): RunSummary[] {
    const rows = filter.status
      ? this.db.prepare(`${RUN_SELECT} WHERE r.status = ? ORDER BY r.id DESC LIMIT ?`).all(filter.status, filter.limit ?? -1)
      : this.db.prepare(`${RUN_SELECT} ORDER BY r.id DESC LIMIT ?`).all(filter.limit ?? -1)
    return (rows as RunRow[]).map(toRunSummary)
  }

  /**
   * Move a run to a new status, refusing transitions that make no sense (finished -> running, ...).
   * With `owner`, only while that process owns the run (read and written in one transaction): a process
   * whose run was taken over after it stalled cannot record a status change any more. A run that ends
   * (finished, failed, cancelled) has no owner, nor has a paused or queued one (the next start claims it anew).
   */
  setRunStatus(id: number, status: RunStatus, details: { error?: string | null; backend?: string | null; owner?: string } = {}): RunSummary {
    return this.db
      .transaction(() => {
        const run = this.getRun(id)
        if (details.owner !== undefined) this.assertOwner(id, details.owner)
        if (run.status === status) return run
        if (!RUN_TRANSITIONS[run.status].includes(status)) {
          throw new StoreError('invalid', `run ${id} cannot go from ${run.status} to ${status}`)
        }
        const terminal = status === 'finished' || status === 'failed' || status === 'cancelled'
        this.db
          .prepare(
            `UPDATE runs SET status = ?,
               started_at = CASE WHEN ? = 'running' AND started_at IS NULL THEN strftime('%Y-%m-%dT%H:%M:%fZ','now') ELSE started_at END,
               ended_at = CASE WHEN ? THEN strftime('%Y-%m-%dT%H:%M:%fZ','now') WHEN ? IN ('queued','running') THEN NULL ELSE ended_at END,
               error = CASE WHEN ? THEN ? ELSE NULL END,
               backend = COALESCE(?, backend),
               owner = CASE WHEN ? OR ? <> 'running' THEN NULL ELSE owner END
             WHERE id = ?`
          )
          .run(
            status,
            status,
            terminal ? 1 : 0,
            status,
            status === 'failed' || status === 'cancelled' ? 1 : 0,
            details.error ?? null,
            details.backend ?? null,
            terminal ? 1 : 0,
            status,
            id
          )
        return this.getRun(id)
      })
      .immediate()
  }

  /**
   * Take a queued run for this process, in one transaction: only when nobody owns it or its owner's lease
   * (heartbeat_at + `leaseSeconds`) has expired. Throws a conflict naming the owner otherwise. With `slots`,
   * also only while fewer runs than that are claimed or running with a live lease, in any process: two queue
   * runners (the workbench and elle worker) that both saw a free slot cannot both take it.
   */
  claimRun(id: number, owner: string, runDir: string | null, leaseSeconds = LEASE_SECONDS, slots?: number): void {
    this.db
      .transaction(() => {
        if (slots !== undefined) {
          const taken = this.db
            .prepare(
              `SELECT (SELECT COUNT(*) FROM runs WHERE id != ? AND owner IS NOT NULL AND status IN ('queued', 'running') AND NOT ${LEASE_EXPIRED})
                    + (SELECT COUNT(*) FROM queue_entries q JOIN jobs j ON j.id = q.job_id WHERE j.status = 'running') AS n`
            )
            .get(id, leaseSeconds) as { n: number }
          if (taken.n >= slots) throw new SlotsBusyError(`all ${slots} slot${slots === 1 ? '' : 's'} are taken; run ${id} stays queued`)
        }
        const row = this.db.prepare(`SELECT status, owner, ${LEASE_EXPIRED} AS expired FROM runs WHERE id = ?`).get(leaseSeconds, id) as
          { status: RunStatus; owner: string | null; expired: number } | undefined
        if (!row) throw new StoreError('not_found', `no run with id ${id}`)
        if (row.owner !== null && row.owner !== owner && row.expired === 0) {
          throw new LeaseLostError(`run ${id} is being trained by another process (${row.owner}); it was not started here`)
        }
        if (row.status !== 'queued') throw new StoreError('invalid', `run ${id} is ${row.status}; only a queued run can be started`)
        this.db.prepare("UPDATE runs SET owner = ?, heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ','now'), run_dir = COALESCE(?, run_dir) WHERE id = ?").run(owner, runDir, id)
      })
      .immediate()
  }

  /** Renew the owner's lease; false when this process no longer owns the running run (taken over, recovered). */
  heartbeat(id: number, owner: string, progress: unknown): boolean {
    const result = this.db
      .prepare("UPDATE runs SET heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ','now'), progress_json = ? WHERE id = ? AND owner = ? AND status = 'running'")
      .run(JSON.stringify(progress), id, owner)
    return result.changes > 0
  }

  /**
   * Take a running run away from an owner that is gone: its lease expired, or `deadOwner` (a process known
   * to be dead) still holds it. One statement, so an owner renewing its lease at the same moment wins.
   * Afterwards the run has no owner and its old owner's writes are refused.
   */
  releaseOrphan(id: number, options: { leaseSeconds?: number; deadOwner?: string | null } = {}): boolean {
    const result = this.db
      .prepare(`UPDATE runs SET owner = NULL WHERE id = ? AND status = 'running' AND (${LEASE_EXPIRED} OR (owner IS NOT NULL AND owner = ?))`)
      .run(id, options.leaseSeconds ?? LEASE_SECONDS, options.deadOwner ?? null)
    return result.changes > 0
  }

  /** Does `owner` still own this running run? (the training worker asks before writing a checkpoint) */
  ownsRun(id: number, owner: string): boolean {
    const row = this.db.prepare('SELECT owner, status FROM runs WHERE id = ?').get(id) as { owner: string | null; status: RunStatus } | undefined
    return row !== undefined && row.owner === owner && row.status === 'running'
  }

  private assertOwner(id: number, owner: string): void {
    const current = this.db.prepare('SELECT owner FROM runs WHERE id = ?').pluck().get(id) as string | null | undefined
    if (current !== owner) {
      throw new LeaseLostError(`run ${id} is no longer owned by this process (${current ? `now ${current}` : 'it was recovered by another process'}); nothing more was written`)
    }
  }

  /** SQLite's data_version: changes whenever another connection commits to the file. */
  get dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number
  }

  /** The last progress the run's owner recorded with its heartbeat (any process). */
  runProgress(id: number): unknown {
    const json = this.db.prepare('SELECT progress_json FROM runs WHERE id = ?').pluck().get(id) as string | null | undefined
    return json ? (JSON.parse(json) as unknown) : null
  }

  runOwner(id: number): string | null {
    return (this.db.prepare('SELECT owner FROM runs WHERE id = ?').pluck().get(id) as string | null | undefined) ?? null
  }

  getRunDir(id: number): string | null {
    this.getRun(id)
    return (this.db.prepare('SELECT run_dir FROM runs WHERE id = ?').pluck().get(id) as string | null) ?? null
  }

  /** Runs marked running whose owner has not been heard from for `staleSeconds` (killed, crashed, power cut). */
  orphanedRuns(staleSeconds: number): RunSummary[] {
    const rows = this.db
      .prepare(
        `${RUN_SELECT} WHERE r.status = 'running'
           AND (r.heartbeat_at IS NULL OR julianday('now') - julianday(r.heartbeat_at) > ? / 86400.0)`
      )
      .all(staleSeconds) as RunRow[]
    return rows.map(toRunSummary)
  }

  /** Earlier runs of this experiment that stopped before finishing (candidates for resume). */
  unfinishedRuns(experimentId: number): RunSummary[] {
    const rows = this.db.prepare(`${RUN_SELECT} WHERE r.experiment_id = ? AND r.status IN ('failed', 'cancelled', 'paused') ORDER BY r.id DESC`).all(experimentId) as RunRow[]
    return rows.map(toRunSummary)
  }

  getRunDetail(id: number): RunDetail {
    const run = this.getRun(id)
    const stages = this.listStages(id)
    const metricCount = this.db.prepare('SELECT COUNT(*) FROM metrics WHERE run_id = ?').pluck().get(id) as number
    return { ...run, stages, metricCount }
  }

  // ---- stages --------------------------------------------------------------------------------

  addStage(runId: number, stage: { index: number; kind: string; domain?: string | null; params?: unknown }, owner?: string): StageSummary {
    this.getRun(runId)
    const insert = this.db.transaction(() => {
      if (owner !== undefined) this.assertOwner(runId, owner)
      return this.db
        .prepare('INSERT INTO stages (run_id, idx, kind, domain, params_json) VALUES (?, ?, ?, ?, ?)')
        .run(runId, stage.index, stage.kind, stage.domain ?? null, stage.params === undefined ? null : JSON.stringify(stage.params)).lastInsertRowid
    })
    const id = Number(insert.immediate())
    return this.listStages(runId).find((s) => s.id === id)!
  }

  setStageStatus(stageId: number, status: 'running' | 'finished' | 'failed', owner?: string): void {
    const update = this.db.transaction(() => {
      if (owner !== undefined) {
        const runId = this.db.prepare('SELECT run_id FROM stages WHERE id = ?').pluck().get(stageId) as number | undefined
        if (runId === undefined) throw new StoreError('not_found', `no stage with id ${stageId}`)
        this.assertOwner(runId, owner)
      }
      return this.db
        .prepare(
          `UPDATE stages SET status = ?,
             started_at = CASE WHEN ? = 'running' THEN strftime('%Y-%m-%dT%H:%M:%fZ','now') ELSE started_at END,
             ended_at = CASE WHEN ? != 'running' THEN strftime('%Y-%m-%dT%H:%M:%fZ','now') ELSE NULL END
           WHERE id = ?`
        )
        .run(status, status, status, stageId)
    })
    const result = update.immediate()
    if (result.changes === 0) throw new StoreError('not_found', `no stage with id ${stageId}`)
  }

  listStages(runId: number): StageSummary[] {
    const rows = this.db.prepare('SELECT id, idx, kind, domain, status, started_at, ended_at FROM stages WHERE run_id = ? ORDER BY idx').all(runId) as Array<{
      id: number
      idx: number
      kind: string
      domain: string | null
      status: string
      started_at: string | null
      ended_at: string | null
    }>
    return rows.map((r) => ({ id: r.id, index: r.idx, kind: r.kind, domain: r.domain, status: r.status, startedAt: r.started_at, endedAt: r.ended_at }))
  }

  // ---- metrics -------------------------------------------------------------------------------

  /**
   * Insert a batch of points in one transaction (the fast path: one fsync per batch, not per point). A point
   * replaces the one of its series and step, so a batch written again after a failure never doubles.
   * With `owner` (all points of one run), only while that process owns the run.
   */
  insertMetrics(points: readonly MetricPoint[], owner?: string): void {
    if (points.length > 0) this.insertMetricsBatch.immediate(points, owner)
  }

  /** One run's metric points ordered by name then step; `name` narrows to one series. */
  readMetrics(runId: number, options: { name?: string } = {}): MetricPoint[] {
    const sql = `SELECT run_id, kind, stage, domain, step, tokens_seen, wall_s, flops, name, value FROM metrics
                 WHERE run_id = ? ${options.name ? 'AND name = ?' : ''} ORDER BY name, step`
    const args = options.name ? [runId, options.name] : [runId]
    const rows = this.db
      .prepare(sql)
      .raw()
      .all(...args) as MetricRow[]
    return rows.map(pointOf)
  }

  /**
   * A run's points as the comparison needs them, read in time that does not grow with the run's length: every
   * point of every series, except that a per-step series (`perStep`: loss, lr, ... written at every update)
   * spanning `fullBelow` steps or more is read as the first and last point of each phase. Phases follow one
   * another in step order and wall time and FLOPs only grow, so the phases' extents, their cost and the run's
   * totals come out the same; reading every point of a 100,000-step run took about a second.
   */
  readMetricsForComparison(runId: number, perStep: ReadonlySet<string>, fullBelow = 20_000): MetricPoint[] {
    const nextName = this.db.prepare('SELECT name FROM metrics WHERE run_id = ? AND name > ? ORDER BY name LIMIT 1').pluck()
    const cols = 'run_id, kind, stage, domain, step, tokens_seen, wall_s, flops, name, value'
    const floor = this.db.prepare(`SELECT ${cols} FROM metrics WHERE run_id = ? AND name = ? AND step <= ? ORDER BY step DESC LIMIT 1`).raw()
    const ceil = this.db.prepare(`SELECT ${cols} FROM metrics WHERE run_id = ? AND name = ? AND step >= ? ORDER BY step LIMIT 1`).raw()
    const out: MetricPoint[] = []
    for (let name = nextName.get(runId, '') as string | undefined; name !== undefined; name = nextName.get(runId, name) as string | undefined) {
      const first = ceil.get(runId, name, -Infinity) as MetricRow | undefined
      const last = floor.get(runId, name, Infinity) as MetricRow | undefined
      if (!first || !last || !perStep.has(name) || last[4] - first[4] < fullBelow) {
        out.push(...this.readMetrics(runId, { name }))
        continue
      }
      for (const [start, end] of this.phaseExtents(runId, name, first, last)) {
        out.push(pointOf(start))
        if (end[4] !== start[4]) out.push(pointOf(end))
      }
    }
    return out
  }

  /**
   * The first and last row of each phase (kind, stage, domain) of one series, in step order, from `first` to `last`
   * (the series' ends): a binary search per phase for the last step still in it, so the cost grows with the number of
   * phases, not of points. Phases follow one another in step order.
   */
  private phaseExtents(runId: number, name: string, first: MetricRow, last: MetricRow): Array<[MetricRow, MetricRow]> {
    const cols = 'run_id, kind, stage, domain, step, tokens_seen, wall_s, flops, name, value'
    const floor = this.db.prepare(`SELECT ${cols} FROM metrics WHERE run_id = ? AND name = ? AND step <= ? ORDER BY step DESC LIMIT 1`).raw()
    const ceil = this.db.prepare(`SELECT ${cols} FROM metrics WHERE run_id = ? AND name = ? AND step >= ? ORDER BY step LIMIT 1`).raw()
    const extents: Array<[MetricRow, MetricRow]> = []
    for (let start: MetricRow | undefined = first; start !== undefined;) {
      let lo = start[4]
      let hi = last[4]
      while (lo < hi) {
        const mid = Math.floor((lo + hi + 1) / 2)
        const row = floor.get(runId, name, mid) as MetricRow
        if (row[1] === start[1] && row[2] === start[2] && row[3] === start[3]) lo = mid
        else hi = mid - 1
      }
      const end = floor.get(runId, name, lo) as MetricRow
      extents.push([start, end])
      start = end[4] === last[4] ? undefined : (ceil.get(runId, name, end[4] + 1) as MetricRow | undefined)
    }
    return extents
  }

  // ---- checkpoints and evaluations -----------------------------------------------------------

  addCheckpoint(input: { runId: number; stageId?: number | null; step: number; path: string; bytes: number; sha256: string }, owner?: string): CheckpointRecord {
    const insert = this.db.transaction(() => {
      if (owner !== undefined) this.assertOwner(input.runId, owner)
      return this.db
        .prepare('INSERT INTO checkpoints (run_id, stage_id, step, path, bytes, sha256) VALUES (?, ?, ?, ?, ?, ?)')
        .run(input.runId, input.stageId ?? null, input.step, input.path, input.bytes, input.sha256).lastInsertRowid
    })
    const id = Number(insert.immediate())
    return this.listCheckpoints(input.runId).find((c) => c.id === id)!
  }

  deleteCheckpoint(id: number, owner?: string): void {
    this.db
      .transaction(() => {
        if (owner !== undefined) {
          const runId = this.db.prepare('SELECT run_id FROM checkpoints WHERE id = ?').pluck().get(id) as number | undefined
          if (runId === undefined) return
          this.assertOwner(runId, owner)
        }
        this.db.prepare('DELETE FROM checkpoints WHERE id = ?').run(id)
      })
      .immediate()
  }

  listCheckpoints(runId: number): CheckpointRecord[] {
    const rows = this.db.prepare('SELECT id, run_id, stage_id, step, path, bytes, sha256, created_at FROM checkpoints WHERE run_id = ? ORDER BY step, id').all(runId) as Array<{
      id: number
      run_id: number
      stage_id: number | null
      step: number
      path: string
      bytes: number
      sha256: string
      created_at: string
    }>
    return rows.map((r) => ({ id: r.id, runId: r.run_id, stageId: r.stage_id, step: r.step, path: r.path, bytes: r.bytes, sha256: r.sha256, createdAt: r.created_at }))
  }

  getCheckpoint(id: number): CheckpointRecord {
    const row = this.db.prepare('SELECT run_id FROM checkpoints WHERE id = ?').pluck().get(id) as number | undefined
    if (row === undefined) throw new StoreError('not_found', `no checkpoint with id ${id}`)
    return this.listCheckpoints(row).find((c) => c.id === id)!
  }

  // ---- cancel requests for runs another process trains ----------------------------------------

  /** Ask the owner of a running run (any process) to cancel it; its heartbeat reads the request. */
  requestRunCancel(id: number): boolean {
    this.getRun(id)
    return this.db.prepare("UPDATE runs SET cancel_requested_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND status = 'running'").run(id).changes > 0
  }

  /** The owner takes a pending cancel request of its run (true once per request). */
  takeRunCancelRequest(id: number, owner: string): boolean {
    return this.db.prepare('UPDATE runs SET cancel_requested_at = NULL WHERE id = ? AND owner = ? AND cancel_requested_at IS NOT NULL').run(id, owner).changes > 0
  }

  clearRunCancelRequest(id: number): void {
    this.db.prepare('UPDATE runs SET cancel_requested_at = NULL WHERE id = ?').run(id)
  }

  // ---- jobs ----------------------------------------------------------------------------------

  /** Record a job (queued). `owner` null: a job entry of the queue, which any queue runner may start. */
  createJob(kind: JobKind, params: unknown, owner: string | null): JobSummary {
    const { lastInsertRowid } = this.db.prepare("INSERT INTO jobs (kind, params_json, status, owner) VALUES (?, ?, 'queued', ?)").run(kind, JSON.stringify(params), owner)
    return this.getJob(Number(lastInsertRowid))
  }

  getJob(id: number): JobSummary {
    const row = this.db.prepare(`${JOB_SELECT} WHERE id = ?`).get(id) as JobRow | undefined
    if (!row) throw new StoreError('not_found', `no job with id ${id}`)
    return toJobSummary(row)
  }

  listJobs(filter: { status?: JobStatus; kind?: JobKind; limit?: number } = {}): JobSummary[] {
    const rows = this.db
      .prepare(`${JOB_SELECT} WHERE (@status IS NULL OR status = @status) AND (@kind IS NULL OR kind = @kind) ORDER BY id DESC LIMIT @limit`)
      .all({ status: filter.status ?? null, kind: filter.kind ?? null, limit: filter.limit ?? -1 }) as JobRow[]
    return rows.map(toJobSummary)
  }

  /** queued -> running; false when the job is no longer queued (cancelled meanwhile). */
  startJob(id: number, owner: string): boolean {
    return (
      this.db.prepare("UPDATE jobs SET status = 'running', owner = ?, started_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND status = 'queued'").run(owner, id)
        .changes > 0
    )
  }

  setJobProgress(id: number, progress: JobProgress): void {
    this.db.prepare("UPDATE jobs SET progress_json = ? WHERE id = ? AND status = 'running'").run(JSON.stringify(progress), id)
  }

  /** Record how a job ended; a job that has already ended keeps its first ending. */
  endJob(id: number, end: { status: 'finished'; result: unknown } | { status: 'failed' | 'cancelled'; error: string | null }): JobSummary {
    this.db
      .prepare(
        `UPDATE jobs SET status = ?, result_json = ?, error = ?, cancel_requested_at = NULL, ended_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
         WHERE id = ? AND status IN ('queued', 'running')`
      )
      .run(end.status, end.status === 'finished' ? JSON.stringify(end.result) : null, end.status === 'finished' ? null : end.error, id)
    return this.getJob(id)
  }

  /** A failed or cancelled job queued again (queue.retry): a job is not resumable, so it starts over, keeping its id and params. */
  requeueJob(id: number): void {
    this.db
      .prepare(
        `UPDATE jobs SET status = 'queued', owner = NULL, progress_json = NULL, result_json = NULL, error = NULL, cancel_requested_at = NULL, started_at = NULL, ended_at = NULL
         WHERE id = ? AND status IN ('failed', 'cancelled')`
      )
      .run(id)
  }

  requestJobCancel(id: number): boolean {
    return this.db.prepare("UPDATE jobs SET cancel_requested_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND status IN ('queued', 'running')").run(id).changes > 0
  }

  /** The jobs of `owner` whose cancel another process requested. */
  jobCancelRequests(owner: string): number[] {
    return this.db.prepare("SELECT id FROM jobs WHERE owner = ? AND cancel_requested_at IS NOT NULL AND status IN ('queued', 'running')").pluck().all(owner) as number[]
  }

  addEvaluations(rows: readonly EvaluationInput[]): void {
    const insert = this.db.prepare('INSERT INTO evaluations (run_id, checkpoint_id, task, domain, metric, value, seed, settings_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    this.db.transaction(() => {
      for (const e of rows) insert.run(e.runId, e.checkpointId ?? null, e.task, e.domain, e.metric, e.value, e.seed, settingsKey(e.settings))
    })()
  }

  listEvaluations(runId: number): Array<EvaluationInput & { id: number; settings: EvaluationSettings | null }> {
    const rows = this.db
      .prepare('SELECT id, run_id, checkpoint_id, task, domain, metric, value, seed, settings_json FROM evaluations WHERE run_id = ? ORDER BY id')
      .all(runId) as Array<{
      id: number
      run_id: number
      checkpoint_id: number | null
      task: string
      domain: string
      metric: string
      value: number
      seed: number
      settings_json: string | null
    }>
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      checkpointId: r.checkpoint_id,
      task: r.task,
      domain: r.domain,
      metric: r.metric,
      value: r.value,
      seed: r.seed,
      settings: r.settings_json === null ? null : (JSON.parse(r.settings_json) as EvaluationSettings)
    }))
  }
}
