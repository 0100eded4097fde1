import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { RunDetail, RunProgress, RunSummary } from '../../../shared/contract'
import { useApi } from '../api/inject'

const DETAIL_REFRESH_MS = 2000

/** Runs from the store, kept current by pushed `run.updated` / `run.progress` events (no polling). */
export const useRunsStore = defineStore('runs', () => {
  const api = useApi()
  const byId = ref(new Map<number, RunSummary>())
  const progress = ref(new Map<number, RunProgress>())
  const loading = ref(false)
  const error = ref<string | null>(null)
  const selectedId = ref<number | null>(null)
  const detail = ref<RunDetail | null>(null)
  let detailFetchedAt = 0

  const runs = computed(() => [...byId.value.values()].sort((a, b) => b.id - a.id))

  async function load(): Promise<void> {
    loading.value = true
    try {
      const { runs: list } = await api.call('runs.list', {})
      byId.value = new Map(list.map((r) => [r.id, r]))
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    } finally {
      loading.value = false
    }
  }

  async function refreshSelected(): Promise<void> {
    const id = selectedId.value
    if (id === null) return
    detailFetchedAt = Date.now()
    // the run's curves come from runs.series (the curves panel); the detail's metric count tells it to ask again
    const d = await api.call('runs.get', { id })
    if (selectedId.value !== id) return
    detail.value = d
  }

  async function select(id: number | null): Promise<void> {
    selectedId.value = id
    detail.value = null
    if (id === null) return
    try {
      await refreshSelected()
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  async function act(action: 'runs.cancel' | 'runs.resume', id: number): Promise<void> {
    try {
      await api.call(action, { id })
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  api.onEvent((event) => {
    if (event.type === 'run.updated') {
      byId.value.set(event.run.id, event.run)
      if (event.run.status !== 'running') progress.value.delete(event.run.id)
      if (selectedId.value === event.run.id) void refreshSelected()
    } else if (event.type === 'run.progress') {
      progress.value.set(event.progress.runId, event.progress)
      if (selectedId.value === event.progress.runId && Date.now() - detailFetchedAt > DETAIL_REFRESH_MS) void refreshSelected()
    }
  })
  // After a dropped connection we may have missed events: reload once when it comes back.
  api.onConnection((state) => {
    if (state === 'connected') void load()
  })

  return {
    runs,
    progress,
    loading,
    error,
    selectedId,
    detail,
    load,
    select,
    cancel: (id: number) => act('runs.cancel', id),
    resume: (id: number) => act('runs.resume', id)
  }
})
