import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { useRunsStore } from './runs'

/** Which runs the user has picked to compare. */
export const useComparisonsStore = defineStore('comparisons', () => {
  const runs = useRunsStore()
  const selected = ref(new Set<number>())

  const selectedRuns = computed(() => runs.runs.filter((r) => selected.value.has(r.id)))

  function toggle(id: number): void {
    const next = new Set(selected.value)
    if (next.has(id)) next.delete(id)
    else next.add(id)
    selected.value = next
  }

  return { selected, selectedRuns, toggle }
})
