// Each view's code is a chunk of its own: router.ts loads it when its route is first shown, and early.ts starts
// loading the first address's view while the app's own code still loads and runs.
export const VIEW_CHUNKS = {
  streams: () => import('./views/StreamsView.vue'),
  schedules: () => import('./views/SchedulesView.vue'),
  runs: () => import('./views/RunsView.vue'),
  queue: () => import('./views/QueueView.vue'),
  compare: () => import('./views/CompareView.vue')
} as const

export type ChunkedView = keyof typeof VIEW_CHUNKS
