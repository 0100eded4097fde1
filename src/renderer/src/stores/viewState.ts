// The state a saved view stores (src/shared/view-state.ts): the comparison (runs, curves, smoothing, grouping) and
// the runs table's layout. The curves panel reads and writes `compare`, the runs table `table`; `compare.runs` is
// kept equal to the comparisons store's picked runs in both directions.
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { DEFAULT_VIEW_STATE, type CompareViewState, type RunsTableState, type ViewState } from '../../../shared/view-state'
import { useComparisonsStore } from './comparisons'

// the state is JSON: a JSON copy also drops Vue's proxies, which structuredClone refuses
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T
const sameIds = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((id, i) => id === b[i])

export const useViewStateStore = defineStore('viewState', () => {
  const comparisons = useComparisonsStore()
  const compare = ref<CompareViewState>(copy(DEFAULT_VIEW_STATE.compare))
  const table = ref<RunsTableState>(copy(DEFAULT_VIEW_STATE.table))

  compare.value.runs = [...comparisons.selected]
  watch(
    () => [...comparisons.selected],
    (ids) => {
      if (!sameIds(ids, compare.value.runs)) compare.value.runs = ids
    }
  )
  watch(
    () => compare.value.runs,
    (ids) => {
      if (!sameIds(ids, [...comparisons.selected])) void comparisons.selectOnly(ids)
    },
    { deep: true }
  )

  /** A copy of the whole state, as a saved view stores it. */
  function snapshot(): ViewState {
    return copy({ compare: compare.value, table: table.value })
  }

  /** Show a saved state: the table's layout, the curves' settings and the picked runs. */
  function apply(state: ViewState): void {
    compare.value = copy(state.compare)
    table.value = copy(state.table)
    if (!sameIds(state.compare.runs, [...comparisons.selected])) void comparisons.selectOnly(state.compare.runs)
  }

  function reset(): void {
    apply(DEFAULT_VIEW_STATE)
  }

  return { compare, table, snapshot, apply, reset }
})
