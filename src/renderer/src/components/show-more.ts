// Long lists in a view show their first items until the user asks for all of them: the comparison of 100 runs
// (1,980 "compute saved" pairs, 100 stage tables) was 21,000 elements for the page to lay out before its first
// frame, about 0.6 s of the page's one thread (docs/benchmarks.md, "Comparison at scale").
import { computed, ref, type ComputedRef } from 'vue'

export const LONG_LIST_FIRST = 12

export interface FirstOf<T> {
  shown: ComputedRef<readonly T[]>
  /** how many are not shown */
  hidden: ComputedRef<number>
  showAll: () => void
}

export function useFirstOf<T>(items: () => readonly T[], first = LONG_LIST_FIRST): FirstOf<T> {
  const all = ref(false)
  const shown = computed(() => (all.value ? items() : items().slice(0, first)))
  const hidden = computed(() => items().length - shown.value.length)
  return { shown, hidden, showAll: () => void (all.value = true) }
}
