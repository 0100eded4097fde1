import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { JobStart } from '../../../shared/checkpoint-actions'
import type { JobSummary } from '../../../shared/contract'
import { useApi } from '../api/inject'

const LIST_LIMIT = 500
const rank = (j: JobSummary): number => (j.status === 'queued' ? 0 : j.status === 'running' ? 1 : 2)

/**
 * Jobs from the store (evaluate, fine-tune, forgetting, grow, export, import, ...), kept current by pushed
 * `job.updated` / `job.progress` events: their live progress with the engine's ETA, their stored result or error.
 */
export const useJobsStore = defineStore('jobs', () => {
  const api = useApi()
  const byId = ref(new Map<number, JobSummary>())
  const error = ref<string | null>(null)
  const loaded = ref(false)

  const jobs = computed(() => [...byId.value.values()].sort((a, b) => b.id - a.id))

  async function load(): Promise<void> {
    try {
      const { jobs: list } = await api.call('jobs.list', { limit: LIST_LIMIT })
      byId.value = new Map(list.map((j) => [j.id, j]))
      error.value = null
      loaded.value = true
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  function put(job: JobSummary): void {
    const known = byId.value.get(job.id)
    // a stale summary (an answer that raced its own events) must not undo a later status
    if (known && rank(known) > rank(job)) return
    byId.value.set(job.id, job)
  }

  /** Start a job; a refused request throws (the caller shows its message next to the action). */
  async function start(request: JobStart): Promise<JobSummary> {
    // one call per method: the union of methods does not narrow through a generic call
    const job = await callStarter(request)
    put(job)
    // its job.updated events may have come before this answer: read it once now
    put(await api.call('jobs.get', { id: job.id }))
    return byId.value.get(job.id)!
  }

  /** Queue a job instead of starting it: it starts in the queue's order, after the runs in `after` finish. */
  async function enqueue(request: JobStart, after: number[]): Promise<JobSummary> {
    const entry = await api.call('queue.addJob', { job: request, ...(after.length > 0 ? { after } : {}) })
    put(entry.job)
    return entry.job
  }

  function callStarter(r: JobStart): Promise<JobSummary> {
    switch (r.method) {
      case 'checkpoints.evaluate':
        return api.call(r.method, r.params)
      case 'checkpoints.finetune':
        return api.call(r.method, r.params)
      case 'runs.forgetting':
        return api.call(r.method, r.params)
      case 'checkpoints.grow':
        return api.call(r.method, r.params)
      case 'checkpoints.export':
        return api.call(r.method, r.params)
      case 'checkpoints.import':
        return api.call(r.method, r.params)
    }
  }

  async function cancel(id: number): Promise<void> {
    try {
      put(await api.call('jobs.cancel', { id }))
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  api.onEvent((event) => {
    if (event.type === 'job.updated') put(event.job)
    else if (event.type === 'job.progress') {
      const job = byId.value.get(event.progress.jobId)
      if (job && job.endedAt === null) byId.value.set(job.id, { ...job, progress: event.progress })
    }
  })
  api.onConnection((state) => {
    if (state === 'connected' && loaded.value) void load()
  })

  return { jobs, byId, error, loaded, load, start, enqueue, cancel, get: (id: number) => byId.value.get(id) ?? null }
})
