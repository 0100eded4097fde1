// The state a saved view stores (src/shared/view-state.ts): the comparison (runs, curves, smoothing, grouping) and
// the runs table's layout. Created by the series helper with the API of the table helper's store (compare, table,
// snapshot, apply, reset) for the curves panel; the table helper's version (which also keeps compare.runs equal to
// the picked runs) replaces it at integration.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { DEFAULT_VIEW_STATE, type CompareViewState, type RunsTableState, type ViewState } from '../../../shared/view-state'

// the state is JSON: a JSON copy also drops Vue's proxies, which structuredClone refuses
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

export const useViewStateStore = defineStore('viewState', () => {
  const compare = ref<CompareViewState>(copy(DEFAULT_VIEW_STATE.compare))
  const table = ref<RunsTableState>(copy(DEFAULT_VIEW_STATE.table))

  function snapshot(): ViewState {
    return copy({ compare: compare.value, table: table.value })
  }

  function apply(state: ViewState): void {
    compare.value = copy(state.compare)
    table.value = copy(state.table)
  }

  function reset(): void {
    apply(DEFAULT_VIEW_STATE)
  }

  return { compare, table, snapshot, apply, reset }
})
