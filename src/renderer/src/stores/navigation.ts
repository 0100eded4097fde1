import { defineStore } from 'pinia'
import { ref } from 'vue'

export const VIEWS = [
  { id: 'streams', label: 'Streams', hint: 'domains and the order they arrive in' },
  { id: 'schedules', label: 'Schedules', hint: 'models, growth schedules and methods' },
  { id: 'runs', label: 'Runs', hint: 'training runs and their progress' },
  { id: 'compare', label: 'Compare', hint: 'ELLE against the baselines' }
] as const
export type ViewId = (typeof VIEWS)[number]['id']

function fromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '')
  return (VIEWS.find((v) => v.id === id)?.id ?? 'runs') as ViewId
}

/** The current view, mirrored in the URL hash so reloads and back/forward keep the place. */
export const useNavigationStore = defineStore('navigation', () => {
  const current = ref<ViewId>(fromHash(window.location.hash))
  window.addEventListener('hashchange', () => {
    current.value = fromHash(window.location.hash)
  })
  function go(view: ViewId): void {
    window.location.hash = `/${view}`
    current.value = view
  }
  return { current, go }
})
