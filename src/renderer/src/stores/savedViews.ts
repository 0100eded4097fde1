// Saved views: the list, save the current view state under a name, apply one, delete one, and the shareable link
// (`#/compare?view=ID` or `#/runs?view=ID`) that applies it when opened.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { SavedViewSummary } from '../../../shared/contract'
import { useApi } from '../api/inject'
import { useViewStateStore } from './viewState'

export const useSavedViewsStore = defineStore('savedViews', () => {
  const api = useApi()
  const viewState = useViewStateStore()
  const views = ref<SavedViewSummary[]>([])
  const error = ref<string | null>(null)
  /** the saved view last applied or saved */
  const currentId = ref<number | null>(null)
  /** the runs the view last opened names that no longer exist (applied without them) */
  const missing = ref<number[]>([])

  async function attempt<T>(work: () => Promise<T>): Promise<T | null> {
    try {
      const result = await work()
      error.value = null
      return result
    } catch (e) {
      error.value = (e as Error).message
      return null
    }
  }

  async function load(): Promise<void> {
    await attempt(async () => {
      views.value = (await api.call('views.list', {})).views
    })
  }

  /** Save the current state: under a new name, or over the view with `id`. */
  async function save(name: string, id?: number): Promise<number | null> {
    const saved = await attempt(() => api.call('views.save', { name, state: viewState.snapshot(), ...(id ? { id } : {}) }))
    if (!saved) return null
    currentId.value = saved.id
    await load()
    return saved.id
  }

  async function open(id: number): Promise<boolean> {
    const view = await attempt(() => api.call('views.get', { id }))
    if (!view) return false
    // runs deleted since the view was saved are left out (comparing them would fail), and named
    const gone = new Set(view.missingRuns)
    viewState.apply({ ...view.state, compare: { ...view.state.compare, runs: view.state.compare.runs.filter((r) => !gone.has(r)) } })
    missing.value = [...view.missingRuns]
    currentId.value = id
    return true
  }

  async function remove(id: number): Promise<void> {
    if (!(await attempt(() => api.call('views.delete', { id })))) return
    if (currentId.value === id) currentId.value = null
    await load()
  }

  // another window or client saved or deleted a view: refetch the list
  api.onEvent((event) => {
    if (event.type === 'views.changed') void load()
  })

  /** The address that opens a saved view in a view of the workbench. */
  function link(id: number, view: 'runs' | 'compare'): string {
    return `${location.origin}${location.pathname}#/${view}?view=${id}`
  }

  return { views, error, currentId, missing, load, save, open, remove, link }
})
