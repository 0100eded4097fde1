// The runs table: rows from runs.table (config fields and final metrics), the filter query, search and sort
// (their text lives in the view state, so a saved view restores them), the keyboard cursor, tags and notes.
// The checkbox selection is the comparisons store's picked runs.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { RunTableRow } from '../../../shared/contract'
import { configDiff } from '../../../shared/config-diff'
import { matches, rowText, sortRows, tryParseQuery, type FlatRow } from '../../../shared/run-query'
import { BUILTIN_COLUMNS, flattenRow } from '../../../shared/run-table'
import { useApi } from '../api/inject'
import { useComparisonsStore } from './comparisons'
import { useRunsStore } from './runs'
import { useViewStateStore } from './viewState'

/** a reload after run events waits this long, so a burst of events costs one query */
const RELOAD_DELAY_MS = 400

export const useRunTableStore = defineStore('runTable', () => {
  const api = useApi()
  const viewState = useViewStateStore()
  const comparisons = useComparisonsStore()
  const runs = useRunsStore()
  const rows = ref<RunTableRow[]>([])
  const configFields = ref<string[]>([])
  const finalFields = ref<string[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** the run the keyboard cursor is on */
  const cursorId = ref<number | null>(null)

  const columns = computed(() => viewState.table.columns)
  const parsed = computed(() => tryParseQuery(viewState.table.filter))
  const filterError = computed(() => (parsed.value.ok ? null : parsed.value.error.message))

  /** rows with the live status (pushed run events) over the fetched one */
  const live = computed(() => {
    const status = new Map(runs.runs.map((s) => [s.id, s.status]))
    return rows.value.map((r) => ({ row: r, flat: { ...flattenRow(r), status: status.get(r.id) ?? r.status } as FlatRow }))
  })

  const visible = computed(() => {
    // a query that does not parse filters nothing: its error shows beside the box instead
    const query = parsed.value.ok ? parsed.value.query : { kind: 'all' as const }
    const words = viewState.table.search.trim().toLowerCase().split(/\s+/).filter(Boolean)
    let kept = live.value.filter(({ flat }) => matches(query, flat) && (words.length === 0 || words.every((w) => rowText(flat).includes(w))))
    const sort = viewState.table.sort
    if (sort) kept = sortRows(kept, sort.column, sort.dir, (k) => k.flat)
    return kept
  })

  /** every column the chooser offers */
  const available = computed(() => [...BUILTIN_COLUMNS, ...finalFields.value.map((f) => `final.${f}`), ...configFields.value.map((f) => `config.${f}`)])

  const selectedRows = computed(() => rows.value.filter((r) => comparisons.selected.has(r.id)))
  /** the config fields that differ among the selected runs (identical ones hidden) */
  const diff = computed(() => (selectedRows.value.length < 2 ? [] : configDiff(selectedRows.value.map((r) => r.config))))

  async function load(): Promise<void> {
    loading.value = true
    try {
      const result = await api.call('runs.table', {})
      rows.value = result.rows
      configFields.value = result.configFields
      finalFields.value = result.finalFields
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    } finally {
      loading.value = false
    }
  }

  let timer: ReturnType<typeof setTimeout> | null = null
  function reloadSoon(): void {
    if (timer) return
    timer = setTimeout(() => {
      timer = null
      void load()
    }, RELOAD_DELAY_MS)
  }
  // a new run, or one that stopped (its final metrics), changes the table; progress ticks do not
  api.onEvent((event) => {
    if (event.type === 'run.updated' && (event.run.status !== 'running' || !rows.value.some((r) => r.id === event.run.id))) reloadSoon()
  })

  function toggleColumn(column: string): void {
    const list = viewState.table.columns
    viewState.table.columns = list.includes(column) ? list.filter((c) => c !== column) : [...list, column]
  }

  /** ascending, then descending, then unsorted */
  function sortBy(column: string): void {
    const sort = viewState.table.sort
    viewState.table.sort = sort?.column !== column ? { column, dir: 'asc' } : sort.dir === 'asc' ? { column, dir: 'desc' } : null
  }

  /** move the cursor by `delta` visible rows */
  function moveCursor(delta: number): void {
    const list = visible.value
    if (list.length === 0) return
    const at = list.findIndex((k) => k.row.id === cursorId.value)
    const next = at < 0 ? (delta > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + delta))
    cursorId.value = list[next]!.row.id
  }

  async function annotate(id: number, change: { tags?: string[]; note?: string }): Promise<boolean> {
    try {
      const row = await api.call('runs.annotate', { id, ...change })
      rows.value = rows.value.map((r) => (r.id === id ? row : r))
      error.value = null
      return true
    } catch (e) {
      error.value = (e as Error).message
      return false
    }
  }

  return {
    rows,
    configFields,
    finalFields,
    loading,
    error,
    cursorId,
    columns,
    filterError,
    visible,
    available,
    selectedRows,
    diff,
    load,
    toggleColumn,
    sortBy,
    moveCursor,
    annotate
  }
})
