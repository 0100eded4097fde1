// The workbench's routes (vue-router, hash history: the Electron renderer is a file:// page, and browser mode's
// first address carries its access token in the query string, which a hash route leaves alone). Each view has a
// route and the deep links inside it: a stream, a saved experiment, a run to clone, a run to show. Anything else,
// such as links written before the router (`#schedules`, `#/runs/run/x`, `#/compare/run/3`), is redirected through
// `parseHash` to the nearest place it names.
import { createRouter, createWebHashHistory, type RouteRecordRaw, type Router, type RouterHistory } from 'vue-router'
import { DEFAULT_VIEW, parseHash, pathOf } from './stores/navigation'
import { VIEW_CHUNKS } from './view-chunks'

// Each view is its own chunk, loaded when its route is first shown (the app mounts once the first one is in): the
// first address parses only its view's code, and ECharts comes only with a view that draws charts.
const { streams: StreamsView, schedules: SchedulesView, runs: RunsView, queue: QueueView, compare: CompareView } = VIEW_CHUNKS

const ID = ':id([1-9]\\d*)'

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: `/${DEFAULT_VIEW}` },
  { path: '/streams', name: 'streams', component: StreamsView, meta: { view: 'streams' } },
  { path: `/streams/stream/${ID}`, name: 'stream', component: StreamsView, meta: { view: 'streams', kind: 'stream' } },
  { path: '/schedules', name: 'schedules', component: SchedulesView, meta: { view: 'schedules' } },
  { path: `/schedules/experiment/${ID}`, name: 'experiment', component: SchedulesView, meta: { view: 'schedules', kind: 'experiment' } },
  { path: `/schedules/run/${ID}`, name: 'clone-run', component: SchedulesView, meta: { view: 'schedules', kind: 'run' } },
  { path: '/runs', name: 'runs', component: RunsView, meta: { view: 'runs' } },
  { path: `/runs/run/${ID}`, name: 'run', component: RunsView, meta: { view: 'runs', kind: 'run' } },
  { path: '/queue', name: 'queue', component: QueueView, meta: { view: 'queue' } },
  { path: '/compare', name: 'compare', component: CompareView, meta: { view: 'compare' } },
  {
    path: '/:rest(.*)*',
    redirect: (to) => {
      const parsed = parseHash(`#${to.path}`)
      return pathOf(parsed.view, parsed.target)
    }
  }
]

export function createAppRouter(history: RouterHistory = createWebHashHistory()): Router {
  return createRouter({ history, routes })
}
