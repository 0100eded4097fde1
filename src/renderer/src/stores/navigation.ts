import { defineStore } from 'pinia'
import { ref } from 'vue'

export const VIEWS = [
  { id: 'streams', label: 'Streams', hint: 'domains and the order they arrive in' },
  { id: 'schedules', label: 'Schedules', hint: 'models, growth schedules and methods' },
  { id: 'runs', label: 'Runs', hint: 'training runs and their progress' },
  { id: 'queue', label: 'Queue', hint: 'the run queue, its order, time window and ETA' },
  { id: 'compare', label: 'Compare', hint: 'ELLE against the baselines' }
] as const
export type ViewId = (typeof VIEWS)[number]['id']

/** What a deep link points at inside a view: `#/schedules/experiment/3` (a saved experiment), `#/schedules/run/7` (clone a run), `#/runs/run/7`. */
export interface LinkTarget {
  kind: 'experiment' | 'run' | 'stream'
  id: number
}

export function parseHash(hash: string): { view: ViewId; target: LinkTarget | null } {
  const [view, kind, id] = hash.replace(/^#\/?/, '').split('/')
  const found = VIEWS.find((v) => v.id === view)?.id ?? 'runs'
  const n = Number(id)
  const target: LinkTarget | null = (kind === 'experiment' || kind === 'run' || kind === 'stream') && Number.isInteger(n) && n > 0 ? { kind, id: n } : null
  return { view: found as ViewId, target }
}

const hashOf = (view: ViewId, target: LinkTarget | null): string => `#/${view}${target ? `/${target.kind}/${target.id}` : ''}`

/** The current view and what inside it a deep link names, mirrored in the URL hash so reloads, links and back/forward keep the place. */
export const useNavigationStore = defineStore('navigation', () => {
  const initial = parseHash(window.location.hash)
  const current = ref<ViewId>(initial.view)
  const target = ref<LinkTarget | null>(initial.target)
  window.addEventListener('hashchange', () => {
    const parsed = parseHash(window.location.hash)
    current.value = parsed.view
    target.value = parsed.target
  })
  function go(view: ViewId, to: LinkTarget | null = null): void {
    window.location.hash = hashOf(view, to).slice(1)
    current.value = view
    target.value = to
  }
  /** Record what the view shows now (an opened experiment) in the address without navigating. */
  function link(view: ViewId, to: LinkTarget | null): void {
    history.replaceState(history.state, '', hashOf(view, to))
    target.value = to
  }
  return { current, target, go, link }
})
