import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { RunDetail, RunSummary } from '../../../shared/contract'
import { useApi } from '../api/inject'

/** Runs from the store, kept current by pushed `run.updated` events (no polling). */
export const useRunsStore = defineStore('runs', () => {
  const api = useApi()
  const byId = ref(new Map<number, RunSummary>())
  const loading = ref(false)
  const error = ref<string | null>(null)
  const selectedId = ref<number | null>(null)
  const detail = ref<RunDetail | null>(null)

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

  async function select(id: number | null): Promise<void> {
    selectedId.value = id
    detail.value = null
    if (id === null) return
    try {
      detail.value = await api.call('runs.get', { id })
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  api.onEvent((event) => {
    if (event.type !== 'run.updated') return
    byId.value.set(event.run.id, event.run)
    if (selectedId.value === event.run.id) void select(event.run.id)
  })
  // After a dropped connection we may have missed events: reload once when it comes back.
  api.onConnection((state) => {
    if (state === 'connected') void load()
  })

  return { runs, loading, error, selectedId, detail, load, select }
})
