// Column reads of the metrics table for the curves query, and the blocks that make them fast at scale.
//
// The metrics table holds one row per point (PRIMARY KEY run_id, name, step). Reading 100 runs × 100,000
// points row by row takes tens of seconds, so each series is also kept as blocks of BLOCK_STEPS steps
// (metric_blocks, schema 10): every column of the block as one little-endian Float64 blob. The blocks are
// derived data: a write to the metrics table deletes the blocks it touches and rebuilds those training has
// moved past; a read takes the blocks present and reads the rest (the open last block, blocks of runs written
// before schema 10) from the metrics table, storing the finished ones it had to read when the store is writable.
import type Database from 'better-sqlite3'
import type { XAxisKind } from '../../../shared/charts/types'
import type { PhaseRef } from '../../../shared/metrics'
import { emptySlices, SLICE_STEPS, summarizeSlices, type SliceSummaries } from '../../../shared/series/summary'
import { withBusyTimeout } from './busy'

export const X_COLUMNS: Record<XAxisKind, string> = { step: 'step', tokens: 'tokens_seen', wall: 'wall_s', flops: 'flops' }
const BLOB_COLUMNS: Record<XAxisKind, string> = { step: 'step', tokens: 'tokens', wall: 'wall', flops: 'flops' }

/** Decoded series kept in memory for redraws (a zoom, another smoothing): 100 runs × 100,000 points of one x unit take 160 MB. */
export const SERIES_CACHE_BYTES = 320 * 2 ** 20

/** Steps per block: a block is rebuilt from at most this many rows. */
export const BLOCK_STEPS = 4096
/** Slices of SLICE_STEPS steps per block: a block's summary (metric_summaries, schema 12) has one entry per slice. */
export const SLICES_PER_BLOCK = BLOCK_STEPS / SLICE_STEPS
const SUMMARY_COLUMNS = ['n', 'finite', 'sum_step', 'sum', 'min', 'max', 'last'] as const
const SUMMARY_FIELDS = ['n', 'finite', 'sumStep', 'sum', 'min', 'max', 'last'] as const

export interface SeriesColumns {
  x: Float64Array
  y: Float64Array
}

/** The first point of a phase in every x unit, and the series value there (the `params` series: the parameter count). */
export interface PhaseStart {
  phase: PhaseRef
  step: number
  tokens: number
  wall: number
  flops: number
  value: number | null
}

const f64 = (buffer: Buffer): Float64Array =>
  buffer.byteOffset % 8 === 0 ? new Float64Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 8) : new Float64Array(new Uint8Array(buffer).buffer)
const blob = (values: Float64Array): Buffer => Buffer.from(values.buffer, values.byteOffset, values.byteLength)

type Row = [number, number, number, number, number]

export class SeriesStore {
  private readonly statements = new Map<string, Database.Statement>()
  private blocksTable: boolean | null = null
  private summariesTable: boolean | null = null
  /** decoded series, least recently used first, with the signature of their blocks (a block's `built` stamp changes whenever it is rebuilt, by any process) */
  private readonly cache = new Map<string, { sig: string; x: Float64Array; y: Float64Array }>()
  private cachedBytes = 0
  /** after a failed attempt to store blocks on read (busy, disk full), the next attempt waits until then */
  private storeAgainAt = 0

  constructor(private readonly db: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql)
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)))
    return s
  }

  /** Whether the store has the blocks table (a store opened at an earlier schema version has not). */
  get hasBlocks(): boolean {
    this.blocksTable ??= this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metric_blocks'").get() !== undefined
    return this.blocksTable
  }

  /** Whether the store has the summaries table (schema 12). */
  get hasSummaries(): boolean {
    this.summariesTable ??= this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metric_summaries'").get() !== undefined
    return this.summariesTable
  }

  private rowsOf(runId: number, name: string, from: number, to: number): Row[] {
    return this.prepare('SELECT step, tokens_seen, wall_s, flops, value FROM metrics WHERE run_id = ? AND name = ? AND step BETWEEN ? AND ? ORDER BY step')
      .raw()
      .all(runId, name, from, to) as Row[]
  }

  /** A block and its summary, with one stamp (the caller's transaction holds both writes together). */
  private writeBlock(runId: number, name: string, block: number, rows: readonly Row[]): SliceSummaries | null {
    const cols = [0, 1, 2, 3, 4].map(() => new Float64Array(rows.length))
    rows.forEach((r, i) => {
      for (let c = 0; c < 5; c++) cols[c]![i] = r[c]!
    })
    const built = Math.floor(Math.random() * 2 ** 52)
    this.prepare('INSERT OR REPLACE INTO metric_blocks (run_id, name, block, n, built, step, tokens, wall, flops, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      runId,
      name,
      block,
      rows.length,
      built,
      ...cols.map(blob)
    )
    if (!this.hasSummaries) return null
    const summary = summarizeSlices(cols[0]!, cols[4]!, block * SLICES_PER_BLOCK, SLICES_PER_BLOCK)
    this.writeSummary(runId, name, block, built, summary)
    return summary
  }

  private writeSummary(runId: number, name: string, block: number, built: number, s: SliceSummaries): void {
    this.prepare(`INSERT OR REPLACE INTO metric_summaries (run_id, name, block, built, ${SUMMARY_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      runId,
      name,
      block,
      built,
      ...SUMMARY_FIELDS.map((f) => blob(s[f]))
    )
  }

  /**
   * Keep the blocks true to the points just written (inside the writing transaction): the touched blocks are
   * deleted, and rebuilt when the series has moved past them (a later block was written, now or before).
   */
  afterInsert(points: ReadonlyArray<{ runId: number; name: string; step: number }>): void {
    if (!this.hasBlocks || points.length === 0) return
    const series = new Map<string, { runId: number; name: string; blocks: Set<number>; max: number; min: number }>()
    for (const p of points) {
      const key = `${p.runId}\u0000${p.name}`
      let s = series.get(key)
      if (!s) series.set(key, (s = { runId: p.runId, name: p.name, blocks: new Set(), max: -Infinity, min: Infinity }))
      const b = Math.floor(p.step / BLOCK_STEPS)
      s.blocks.add(b)
      s.max = Math.max(s.max, b)
      s.min = Math.min(s.min, b)
    }
    const del = this.prepare('DELETE FROM metric_blocks WHERE run_id = ? AND name = ? AND block = ?')
    // a summary is only used while its stamp is its block's: deleting it too just keeps the table small
    const delSummary = this.hasSummaries ? this.prepare('DELETE FROM metric_summaries WHERE run_id = ? AND name = ? AND block = ?') : null
    const exists = this.prepare('SELECT 1 FROM metric_blocks WHERE run_id = ? AND name = ? AND block = ?')
    for (const s of series.values()) {
      for (const b of s.blocks) {
        del.run(s.runId, s.name, b)
        delSummary?.run(s.runId, s.name, b)
        if (b < s.max) this.seal(s.runId, s.name, b)
      }
      // the block before this batch was left open by the previous batch: training has now moved past it
      const before = s.min - 1
      if (before >= 0 && !s.blocks.has(before) && exists.get(s.runId, s.name, before) === undefined) this.seal(s.runId, s.name, before)
    }
  }

  private seal(runId: number, name: string, block: number): void {
    const rows = this.rowsOf(runId, name, block * BLOCK_STEPS, (block + 1) * BLOCK_STEPS - 1)
    if (rows.length > 0) this.writeBlock(runId, name, block, rows)
  }

  /**
   * One series in step order, x in the given unit: from the blocks, and from the metrics table for blocks not
   * stored (they are stored on the way when the store is writable, the open last one too: any later write to a
   * block deletes it). The whole series stays in memory while its blocks are unchanged (their stamps and the last step).
   */
  columns(runId: number, name: string, x: XAxisKind): SeriesColumns {
    if (!this.hasBlocks) return this.columnsFromRows(runId, name, x)
    const last = this.prepare('SELECT MAX(step) AS s FROM metrics WHERE run_id = ? AND name = ?').get(runId, name) as { s: number | null }
    if (last.s === null) return { x: new Float64Array(0), y: new Float64Array(0) }
    const lastBlock = Math.floor(last.s / BLOCK_STEPS)
    const key = `${runId}\u0000${name}\u0000${x}`
    const signature = (): string =>
      `${last.s}|${(this.prepare('SELECT block, built FROM metric_blocks WHERE run_id = ? AND name = ? ORDER BY block').raw().all(runId, name) as Array<[number, number]>).join(';')}`
    let sig = signature()
    const hit = this.cache.get(key)
    if (hit && hit.sig === sig) {
      this.cache.delete(key)
      this.cache.set(key, hit)
      return hit
    }
    const stored = this.prepare(`SELECT block, ${BLOB_COLUMNS[x]}, value FROM metric_blocks WHERE run_id = ? AND name = ? ORDER BY block`).raw().all(runId, name) as Array<
      [number, Buffer, Buffer]
    >
    const parts: Array<{ x: Float64Array; y: Float64Array }> = []
    const xi = ({ step: 0, tokens: 1, wall: 2, flops: 3 } as const)[x]
    let next = 0
    let unstored = 0
    const fromRows = (from: number, to: number): void => {
      for (let b = from; b <= to; b++) {
        const rows = this.readAndStore(runId, name, b)
        if (rows === null) continue
        if (!rows.stored) unstored++
        parts.push({ x: Float64Array.from(rows.rows, (r) => r[xi]), y: Float64Array.from(rows.rows, (r) => r[4]) })
      }
    }
    for (const [block, xs, ys] of stored) {
      if (block > lastBlock) continue
      if (block > next) fromRows(next, block - 1)
      parts.push({ x: f64(xs), y: f64(ys) })
      next = block + 1
    }
    fromRows(next, lastBlock)
    const n = parts.reduce((sum, p) => sum + p.x.length, 0)
    const out = { x: new Float64Array(n), y: new Float64Array(n) }
    let at = 0
    for (const p of parts) {
      out.x.set(p.x, at)
      out.y.set(p.y, at)
      at += p.x.length
    }
    // a block read from rows and not stored (a read-only store) may change without a stamp: such a series is not kept
    if (unstored === 0) {
      if (parts.length !== stored.length) sig = signature()
      this.remember(key, { sig, ...out })
    }
    return out
  }

  /**
   * One series' slice summaries (steps from 0 to its last): from metric_summaries where a block's summary carries
   * the block's current stamp, else from the block itself (a block from before schema 12, or rebuilt by a process
   * of an older version), else from the metrics table (the block is stored on the way, as `columns` does). Summaries
   * made on the way are stored when the store is writable, in one transaction that checks each block's stamp again.
   */
  summaries(runId: number, name: string): SliceSummaries {
    const last = this.prepare('SELECT MAX(step) AS s FROM metrics WHERE run_id = ? AND name = ?').get(runId, name) as { s: number | null }
    if (last.s === null) return emptySlices(0, 0)
    const lastBlock = Math.floor(last.s / BLOCK_STEPS)
    const out = emptySlices(0, (lastBlock + 1) * SLICES_PER_BLOCK)
    const put = (block: number, part: SliceSummaries): void => {
      for (const f of SUMMARY_FIELDS) out[f].set(part[f], block * SLICES_PER_BLOCK)
    }
    if (!this.hasBlocks || !this.hasSummaries) {
      const c = this.columnsFromRows(runId, name, 'step')
      return summarizeSlices(c.x, c.y, 0, out.n.length)
    }
    const rows = this.prepare(
      `SELECT b.block, b.built, s.built IS NOT NULL, ${SUMMARY_COLUMNS.map((c) => `s.${c}`).join(', ')}
       FROM metric_blocks b LEFT JOIN metric_summaries s ON s.run_id = b.run_id AND s.name = b.name AND s.block = b.block AND s.built = b.built
       WHERE b.run_id = ? AND b.name = ? ORDER BY b.block`
    )
      .raw()
      .all(runId, name) as Array<[number, number, number, ...Array<Buffer | null>]>
    const made: Array<{ block: number; built: number; summary: SliceSummaries }> = []
    const blockOf = this.prepare('SELECT step, value FROM metric_blocks WHERE run_id = ? AND name = ? AND block = ? AND built = ?').raw()
    const fromRows = (block: number): void => {
      const read = this.readAndStore(runId, name, block)
      if (read === null) return
      put(
        block,
        summarizeSlices(
          read.rows.map((r) => r[0]),
          read.rows.map((r) => r[4]),
          block * SLICES_PER_BLOCK,
          SLICES_PER_BLOCK
        )
      )
    }
    let next = 0
    for (const [block, built, has, ...blobs] of rows) {
      if (block > lastBlock) continue
      for (let b = next; b < block; b++) fromRows(b)
      next = block + 1
      if (has) {
        // straight into the series' arrays (a stored summary holds one block's slices): no per-block copy to fill and drop
        SUMMARY_FIELDS.forEach((f, i) => out[f].set(f64(blobs[i]!).subarray(0, SLICES_PER_BLOCK), block * SLICES_PER_BLOCK))
        continue
      }
      const cols = blockOf.get(runId, name, block, built) as [Buffer, Buffer] | undefined
      if (!cols) {
        fromRows(block)
        continue
      }
      const summary = summarizeSlices(f64(cols[0]), f64(cols[1]), block * SLICES_PER_BLOCK, SLICES_PER_BLOCK)
      put(block, summary)
      made.push({ block, built, summary })
    }
    for (let b = next; b <= lastBlock; b++) fromRows(b)
    if (made.length > 0) this.storeSummaries(runId, name, made)
    return out
  }

  /** Store summaries made from blocks, each only if its block still has the stamp it was made from (derived data: a busy store is skipped). */
  private storeSummaries(runId: number, name: string, made: ReadonlyArray<{ block: number; built: number; summary: SliceSummaries }>): void {
    if (this.db.readonly || Date.now() < this.storeAgainAt) return
    const stamp = this.prepare('SELECT built FROM metric_blocks WHERE run_id = ? AND name = ? AND block = ?').pluck()
    try {
      withBusyTimeout(this.db, 20, () =>
        this.db
          .transaction(() => {
            for (const m of made) if (stamp.get(runId, name, m.block) === m.built) this.writeSummary(runId, name, m.block, m.built, m.summary)
          })
          .immediate()
      )
    } catch {
      this.storeAgainAt = Date.now() + 1000
    }
  }

  /** Summaries for every stored block that has none (or a stale one): what an older store needs once; returns how many were made. */
  buildSummaries(): number {
    if (!this.hasBlocks || !this.hasSummaries) return 0
    const missing = this.prepare(
      `SELECT DISTINCT b.run_id, b.name FROM metric_blocks b LEFT JOIN metric_summaries s ON s.run_id = b.run_id AND s.name = b.name AND s.block = b.block AND s.built = b.built
       WHERE s.built IS NULL`
    )
      .raw()
      .all() as Array<[number, string]>
    const before = this.prepare('SELECT COUNT(*) FROM metric_summaries').pluck().get() as number
    for (const [runId, name] of missing) this.summaries(runId, name)
    return (this.prepare('SELECT COUNT(*) FROM metric_summaries').pluck().get() as number) - before
  }

  private remember(key: string, entry: { sig: string; x: Float64Array; y: Float64Array }): void {
    const bytes = (e: { x: Float64Array }) => e.x.byteLength * 2
    const old = this.cache.get(key)
    if (old) this.cachedBytes -= bytes(old)
    this.cache.delete(key)
    this.cache.set(key, entry)
    this.cachedBytes += bytes(entry)
    for (const [k, v] of this.cache) {
      if (this.cachedBytes <= SERIES_CACHE_BYTES) break
      this.cache.delete(k)
      this.cachedBytes -= bytes(v)
    }
  }

  /** A block's rows from the metrics table, stored as a block in the same write transaction when the store is writable (so no write slips between). */
  private readAndStore(runId: number, name: string, block: number): { rows: Row[]; stored: boolean } | null {
    const read = () => this.rowsOf(runId, name, block * BLOCK_STEPS, (block + 1) * BLOCK_STEPS - 1)
    if (!this.db.readonly && Date.now() >= this.storeAgainAt) {
      try {
        // a reader never waits for a writer (another process training): 20 ms, then the rows are read as they are
        const rows = withBusyTimeout(this.db, 20, () =>
          this.db
            .transaction(() => {
              const rows = read()
              if (rows.length > 0) this.writeBlock(runId, name, block, rows)
              return rows
            })
            .immediate()
        )
        return rows.length > 0 ? { rows, stored: true } : null
      } catch {
        // derived data only: a busy or full store is read row by row, and not written to for a second
        this.storeAgainAt = Date.now() + 1000
      }
    }
    const rows = read()
    return rows.length > 0 ? { rows, stored: false } : null
  }

  /** One series read row by row from the metrics table (stores without blocks). */
  columnsFromRows(runId: number, name: string, x: XAxisKind): SeriesColumns {
    const rows = this.prepare(`SELECT ${X_COLUMNS[x]}, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step`).raw().all(runId, name) as Array<[number, number]>
    const xs = new Float64Array(rows.length)
    const ys = new Float64Array(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!
      xs[i] = r[0]
      ys[i] = r[1]
    }
    return { x: xs, y: ys }
  }

  /** The first and last step of a series, or null when it has no point: two statements, as SQLite seeks the index for a lone MIN or MAX but scans every point for both together. */
  stepExtent(runId: number, name: string): [number, number] | null {
    const lo = this.prepare('SELECT MIN(step) FROM metrics WHERE run_id = ? AND name = ?').pluck().get(runId, name) as number | null
    const hi = this.prepare('SELECT MAX(step) FROM metrics WHERE run_id = ? AND name = ?').pluck().get(runId, name) as number | null
    return lo === null || hi === null ? null : [lo, hi]
  }

  /** Where each phase of a run starts, from the series `name` (the loop writes `params` once at each phase start). */
  phaseStarts(runId: number, name: string): PhaseStart[] {
    const rows = this.prepare(
      `SELECT kind, stage, domain, MIN(step), tokens_seen, wall_s, flops, value FROM metrics WHERE run_id = ? AND name = ? GROUP BY kind, stage, domain ORDER BY MIN(step)`
    )
      .raw()
      .all(runId, name) as Array<[string, number | null, string | null, number, number, number, number, number]>
    return rows.map(([kind, stage, domain, step, tokens, wall, flops, value]) => ({ phase: { kind, stage, domain }, step, tokens, wall, flops, value }))
  }

  /** The names of the series a run recorded: one index seek per name, not a scan of its points. */
  names(runId: number): string[] {
    return this.prepare(
      `WITH RECURSIVE n(name) AS (SELECT MIN(name) FROM metrics WHERE run_id = @run
         UNION ALL SELECT (SELECT MIN(name) FROM metrics WHERE run_id = @run AND name > n.name) FROM n WHERE n.name IS NOT NULL)
       SELECT name FROM n WHERE name IS NOT NULL`
    )
      .pluck()
      .all({ run: runId }) as string[]
  }

  /** The sweep group the run was queued in (queue_entries.group_name), or null. */
  sweepGroup(runId: number): string | null {
    const row = this.prepare('SELECT group_name FROM queue_entries WHERE run_id = ?').get(runId) as { group_name: string | null } | undefined
    return row?.group_name ?? null
  }
}
