import { defineStore } from 'pinia'
import { computed, nextTick, ref, shallowRef } from 'vue'
import type { RunComparison } from '../../../shared/contract'
import { useApi } from '../api/inject'
import { useRunsStore } from './runs'

/** Which runs the user has picked to compare (in picking order), and their comparison from `runs.compare`. */
export const useComparisonsStore = defineStore('comparisons', () => {
  const api = useApi()
  const runs = useRunsStore()
  const selected = ref(new Set<number>())
  // shallow: replaced whole with each answer; the comparison of 100 runs need not become deeply reactive
  const comparison = shallowRef<RunComparison | null>(null)
  const error = ref<string | null>(null)
  const loading = ref(false)
  /** set while the Compare view shows (it resolves once its curves panel drew these runs): the comparison waits for it */
  let beforeCompare: ((ids: number[]) => Promise<void>) | null = null
  function waitFor(fn: ((ids: number[]) => Promise<void>) | null): void {
    beforeCompare = fn
  }
  let request = 0

  const selectedRuns = computed(() => runs.runs.filter((r) => selected.value.has(r.id)))

  /** Ask the engine for the comparison of the picked runs; a refusal (different streams, ...) becomes `error`. */
  async function refresh(): Promise<void> {
    const ids = [...selected.value]
    const mine = ++request
    if (ids.length === 0) {
      comparison.value = null
      error.value = null
      return
    }
    loading.value = true
    // the curves of these runs first: runs.compare (AP, matrices, phases of every run) is the heavier request, and
    // the engine answers one at a time; it leaves once the curves drew and the page is idle
    if (beforeCompare) {
      await nextTick()
      await beforeCompare(ids)
      if (mine !== request) return
    }
    try {
      const result = await api.call('runs.compare', { ids })
      if (mine !== request) return
      // drawing the comparison (its tables and charts) takes the page for a while: a curves redraw asked meanwhile
      // (smoothing toggled while it was computed) is drawn first
      if (beforeCompare) {
        await beforeCompare(ids)
        if (mine !== request) return
      }
      comparison.value = result
      error.value = null
    } catch (e) {
      if (mine !== request) return
      comparison.value = null
      error.value = (e as Error).message
    } finally {
      if (mine === request) loading.value = false
    }
  }

  function toggle(id: number): Promise<void> {
    const next = new Set(selected.value)
    if (next.has(id)) next.delete(id)
    else next.add(id)
    selected.value = next
    return refresh()
  }

  /** Compare exactly these runs (a sweep group from the morning summary). */
  function selectOnly(ids: readonly number[]): Promise<void> {
    selected.value = new Set(ids)
    return refresh()
  }

  function clear(): Promise<void> {
    selected.value = new Set()
    return refresh()
  }

  // A picked run that finishes (or gets new downstream scores) is compared again with its final numbers.
  api.onEvent((event) => {
    if (event.type === 'run.updated' && selected.value.has(event.run.id) && event.run.status !== 'running') void refresh()
    // a fine-tune or forgetting matrix (from the run page's checkpoint actions) stores downstream scores
    if (event.type === 'job.updated' && event.job.status === 'finished' && (event.job.kind === 'finetune' || event.job.kind === 'forgetting') && selected.value.size > 0)
      void refresh()
  })

  return { selected, selectedRuns, comparison, error, loading, waitFor, toggle, selectOnly, clear, refresh }
})
