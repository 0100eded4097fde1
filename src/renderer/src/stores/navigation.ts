// Where the user is: the view and what inside it a deep link names. The routes themselves are vue-router's
// (src/renderer/src/router); this store is the thin layer views use, so they say `navigation.go('runs', { kind: 'run', id })`
// and read `navigation.current` / `navigation.target` without knowing paths. Back/forward and reload keep the place
// because the place is the route.
import { defineStore } from 'pinia'
import { computed } from 'vue'
import { useRouter, type RouteLocationNormalizedLoaded } from 'vue-router'
import { DEFAULT_VIEW as FIRST_VIEW } from '../default-view'

export const VIEWS = [
  { id: 'streams', label: 'Streams', hint: 'domains and the order they arrive in' },
  { id: 'schedules', label: 'Schedules', hint: 'models, growth schedules and methods' },
  { id: 'runs', label: 'Runs', hint: 'training runs and their progress' },
  { id: 'queue', label: 'Queue', hint: 'the run queue, its order, time window and ETA' },
  { id: 'compare', label: 'Compare', hint: 'ELLE against the baselines' }
] as const
export type ViewId = (typeof VIEWS)[number]['id']

/** What a deep link points at inside a view: `#/schedules/experiment/3` (a saved experiment), `#/schedules/run/7` (clone a run), `#/runs/run/7`, `#/streams/stream/2`. */
export interface LinkTarget {
  kind: 'experiment' | 'run' | 'stream'
  id: number
}

declare module 'vue-router' {
  interface RouteMeta {
    /** the view the route shows (its navigation entry) */
    view?: ViewId
    /** what the route's `:id` names inside the view */
    kind?: LinkTarget['kind']
  }
}

/** The view used when an address names none. */
export const DEFAULT_VIEW: ViewId = FIRST_VIEW

/** The targets each view has a route for (`#/streams/run/3` is not one: it goes to the view alone). */
export const VIEW_TARGETS: Record<ViewId, ReadonlyArray<LinkTarget['kind']>> = { streams: ['stream'], schedules: ['experiment', 'run'], runs: ['run'], queue: [], compare: [] }

/** Reads any address hash, old or new: the view it names (Runs when none) and the target, if well formed. */
export function parseHash(hash: string): { view: ViewId; target: LinkTarget | null } {
  const [view, kind, id] = hash.replace(/^#\/?/, '').split(/[?/]/)
  const found = VIEWS.find((v) => v.id === view)?.id ?? DEFAULT_VIEW
  const n = Number(id)
  const target: LinkTarget | null = (kind === 'experiment' || kind === 'run' || kind === 'stream') && Number.isInteger(n) && n > 0 ? { kind, id: n } : null
  return { view: found, target }
}

/** The route path of a place: `/schedules/experiment/3`. A target the view has no route for is dropped. */
export function pathOf(view: ViewId, target: LinkTarget | null = null): string {
  const kept = target && VIEW_TARGETS[view].includes(target.kind) ? target : null
  return `/${view}${kept ? `/${kept.kind}/${kept.id}` : ''}`
}

export const hashOf = (view: ViewId, target: LinkTarget | null = null): string => `#${pathOf(view, target)}`

export function viewOfRoute(route: Pick<RouteLocationNormalizedLoaded, 'meta'>): ViewId {
  return route.meta.view ?? DEFAULT_VIEW
}

export function targetOfRoute(route: Pick<RouteLocationNormalizedLoaded, 'meta' | 'params'>): LinkTarget | null {
  const kind = route.meta.kind
  const id = Number(route.params.id)
  return kind && Number.isInteger(id) && id > 0 ? { kind, id } : null
}

/** The current view and deep-link target, read from the router; `go` pushes a history entry, `link` replaces the current one. */
export const useNavigationStore = defineStore('navigation', () => {
  const router = useRouter()
  const current = computed<ViewId>(() => viewOfRoute(router.currentRoute.value))
  // the same place read again is the same object: watchers on `target` fire only when it changes
  const target = computed<LinkTarget | null>((previous) => {
    const next = targetOfRoute(router.currentRoute.value)
    return previous && next && previous.kind === next.kind && previous.id === next.id ? previous : next
  })
  function go(view: ViewId, to: LinkTarget | null = null): void {
    void router.push(pathOf(view, to))
  }
  /** Record what the view shows now (an opened experiment) in the address, replacing the current entry. */
  function link(view: ViewId, to: LinkTarget | null): void {
    void router.replace(pathOf(view, to))
  }
  return { current, target, go, link }
})
