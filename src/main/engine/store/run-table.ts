// The runs table's reads and writes (schema 9): rows with flattened configs and final metrics in a fixed number
// of queries whatever the number of runs, a run's tags and note, and saved views.
import type { RunStatus, RunTableRow, SavedView, SavedViewSummary } from '../../../shared/contract'
import { flattenConfig } from '../../../shared/config-diff'
import { SERIES } from '../../../shared/metrics'
import { ViewState } from '../../../shared/view-state'
import { configFacts } from '../compare/compare'
import { StoreError, type ExperimentStore } from './store'

/** The series whose last value is a final metric (the training loss, the last validation's AP) and the parameter count. */
const FINAL_SERIES = [SERIES.ap, SERIES.apGeo, SERIES.apPlus, SERIES.loss, SERIES.params] as const

type RunRow = {
  id: number
  experiment_id: number
  experiment_name: string
  status: RunStatus
  created_at: string
  tags_json: string
  note: string
}

type FinalRow = { run_id: number; name: string; value: number; tokens_seen: number; wall_s: number; flops: number }

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

function parseTags(json: string): string[] {
  const value: unknown = JSON.parse(json)
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : []
}

/** Rows for the runs table: four queries (runs, experiment configs, last points of the final series, downstream means). */
export function runTableRows(store: ExperimentStore, ids?: readonly number[]): RunTableRow[] {
  const db = store.db
  const only = ids ? `WHERE r.id IN (SELECT value FROM json_each(?))` : ''
  const args = ids ? [JSON.stringify(ids)] : []
  const runs = db
    .prepare(
      `SELECT r.id, r.experiment_id, e.name AS experiment_name, r.status, r.created_at, r.tags_json, r.note
       FROM runs r JOIN experiments e ON e.id = r.experiment_id ${only} ORDER BY r.id DESC`
    )
    .all(...args) as RunRow[]
  if (runs.length === 0) return []

  const experimentIds = [...new Set(runs.map((r) => r.experiment_id))]
  const configs = new Map(
    (
      db.prepare('SELECT id, config_json FROM experiments WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(experimentIds)) as Array<{
        id: number
        config_json: string
      }>
    ).map((e) => {
      const config: unknown = JSON.parse(e.config_json)
      return [e.id, { facts: configFacts(config), flat: flattenConfig(config) }] as const
    })
  )

  // The last point of each final series per run: a seek on the metrics key (run_id, name, step) per run and
  // series, never a scan of a run's points.
  const runIds = JSON.stringify(runs.map((r) => r.id))
  const finals = db
    .prepare(
      // CROSS JOIN fixes the order (runs, then series, then one key seek), which the planner would otherwise turn around
      `SELECT m.run_id, m.name, m.value, m.tokens_seen, m.wall_s, m.flops
       FROM json_each(?) r CROSS JOIN json_each(?) n CROSS JOIN metrics m
       WHERE m.run_id = r.value AND m.name = n.value
         AND m.step = (SELECT MAX(x.step) FROM metrics x WHERE x.run_id = r.value AND x.name = n.value)`
    )
    .all(runIds, JSON.stringify(FINAL_SERIES)) as FinalRow[]
  const finalOf = new Map<number, Record<string, number | null>>()
  for (const f of finals) {
    const row = finalOf.get(f.run_id) ?? { tokens: null, wall_s: null, flops: null }
    row[f.name] = f.value
    // how far the run got: the furthest of its last loss and last validation
    if (f.name !== SERIES.params) {
      row.tokens = Math.max(row.tokens ?? 0, f.tokens_seen)
      row.wall_s = Math.max(row.wall_s ?? 0, f.wall_s)
      row.flops = Math.max(row.flops ?? 0, f.flops)
    }
    finalOf.set(f.run_id, row)
  }

  // downstream: per run and task, the mean score (over seeds) at the last checkpoint that task was evaluated on
  const downstream = db
    .prepare(
      `SELECT e.run_id, e.task, AVG(e.value) AS value
       FROM evaluations e
       WHERE e.run_id IN (SELECT value FROM json_each(?))
         AND e.checkpoint_id IS (SELECT MAX(x.checkpoint_id) FROM evaluations x WHERE x.run_id = e.run_id AND x.task = e.task)
       GROUP BY e.run_id, e.task`
    )
    .all(runIds) as Array<{ run_id: number; task: string; value: number }>
  for (const d of downstream) {
    const row = finalOf.get(d.run_id) ?? { tokens: null, wall_s: null, flops: null }
    row[`downstream.${d.task}`] = d.value
    finalOf.set(d.run_id, row)
  }

  return runs.map((r) => {
    const config = configs.get(r.experiment_id)
    return {
      id: r.id,
      experimentId: r.experiment_id,
      experiment: r.experiment_name,
      status: r.status,
      createdAt: r.created_at,
      seed: config?.facts.seed ?? null,
      method: config?.facts.method ?? 'unknown',
      tags: parseTags(r.tags_json),
      note: r.note,
      config: config?.flat ?? {},
      final: finalOf.get(r.id) ?? {}
    }
  })
}

export function runTableRow(store: ExperimentStore, id: number): RunTableRow {
  const row = runTableRows(store, [id])[0]
  if (!row) throw new StoreError('not_found', `no run with id ${id}`)
  return row
}

/** Replace a run's tags and/or note (undefined: kept). Tags are deduplicated, in the order given. */
export function annotateRun(store: ExperimentStore, id: number, change: { tags?: readonly string[]; note?: string }): RunTableRow {
  const changed = store.db
    .prepare('UPDATE runs SET tags_json = COALESCE(?, tags_json), note = COALESCE(?, note) WHERE id = ?')
    .run(change.tags === undefined ? null : JSON.stringify([...new Set(change.tags)]), change.note ?? null, id).changes
  if (changed === 0) throw new StoreError('not_found', `no run with id ${id}`)
  return runTableRow(store, id)
}

// ---- saved views ----------------------------------------------------------------------------------------

type ViewRow = { id: number; name: string; state_json: string; created_at: string; updated_at: string }
const VIEW_SELECT = 'SELECT id, name, state_json, created_at, updated_at FROM saved_views'
const summary = (row: ViewRow): SavedViewSummary => ({ id: row.id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at })

export function listViews(store: ExperimentStore): SavedViewSummary[] {
  return (store.db.prepare(`${VIEW_SELECT} ORDER BY name COLLATE NOCASE, id`).all() as ViewRow[]).map(summary)
}

export function getView(store: ExperimentStore, id: number): SavedView {
  const row = store.db.prepare(`${VIEW_SELECT} WHERE id = ?`).get(id) as ViewRow | undefined
  if (!row) throw new StoreError('not_found', `no saved view with id ${id}`)
  const state = ViewState.safeParse(JSON.parse(row.state_json))
  if (!state.success) throw new StoreError('invalid', `saved view ${id} ("${row.name}") holds a state this workbench cannot read: ${state.error.issues[0]?.message ?? ''}`)
  return { ...summary(row), state: state.data, missingRuns: missingRuns(store, state.data.compare.runs) }
}

/** The ids among `ids` that name no run (deleted since the view was saved, or never stored), in the view's order. */
function missingRuns(store: ExperimentStore, ids: readonly number[]): number[] {
  if (ids.length === 0) return []
  const found = new Set(
    store.db
      .prepare(`SELECT id FROM runs WHERE id IN (${ids.map(() => '?').join(', ')})`)
      .pluck()
      .all(...ids) as number[]
  )
  return ids.filter((id) => !found.has(id))
}

export function saveView(store: ExperimentStore, input: { id?: number; name: string; state: ViewState }): SavedView {
  const state = ViewState.safeParse(input.state)
  if (!state.success) throw new StoreError('invalid', state.error.issues.map((i) => `state.${i.path.join('.')}: ${i.message}`).join('; '))
  const json = JSON.stringify(state.data)
  const db = store.db
  const id = db
    .transaction(() => {
      const holder = db.prepare('SELECT id FROM saved_views WHERE name = ?').pluck().get(input.name) as number | undefined
      if (holder !== undefined && holder !== input.id) throw new StoreError('conflict', `a saved view named "${input.name}" already exists (id ${holder}); choose another name`)
      if (input.id === undefined) return Number(db.prepare('INSERT INTO saved_views (name, state_json) VALUES (?, ?)').run(input.name, json).lastInsertRowid)
      const changed = db.prepare(`UPDATE saved_views SET name = ?, state_json = ?, updated_at = ${NOW} WHERE id = ?`).run(input.name, json, input.id).changes
      if (changed === 0) throw new StoreError('not_found', `no saved view with id ${input.id}`)
      return input.id
    })
    .immediate()
  return getView(store, id)
}

export function deleteView(store: ExperimentStore, id: number): SavedViewSummary {
  return store.db
    .transaction(() => {
      // the summary only: a view whose state no longer parses can still be deleted
      const row = store.db.prepare(`${VIEW_SELECT} WHERE id = ?`).get(id) as ViewRow | undefined
      if (!row) throw new StoreError('not_found', `no saved view with id ${id}`)
      store.db.prepare('DELETE FROM saved_views WHERE id = ?').run(id)
      return summary(row)
    })
    .immediate()
}
