import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { CheckpointSummary } from '../../../shared/contract'
import {
  actionRequest,
  detachedCheckpoints,
  emptyActionForm,
  latestEvaluations,
  type ActionForm,
  type CheckpointAction,
  type CheckpointEvaluation,
  type DetachedCheckpoint
} from '../../../shared/checkpoint-actions'
import { useApi } from '../api/inject'
import { useJobsStore } from './jobs'
import { useRunsStore } from './runs'

/** Where a refused request's message goes: the field it most likely concerns. */
const FIELD_OF: Record<CheckpointAction, keyof ActionForm> = {
  evaluate: 'domain',
  finetune: 'task',
  forgetting: 'seeds',
  grow: 'outDir',
  export: 'exportDir',
  import: 'importPath'
}

/**
 * The checkpoints of the run shown on the run page, with what their actions need: the run's domains (in
 * stream order, to evaluate on), the downstream tasks of those domains (to fine-tune on), and each
 * checkpoint's latest evaluation per domain (from the finished evaluate jobs).
 */
export const useCheckpointsStore = defineStore('checkpoints', () => {
  const api = useApi()
  const jobs = useJobsStore()
  const runId = ref<number | null>(null)
  const checkpoints = ref<CheckpointSummary[]>([])
  const domains = ref<string[]>([])
  const tasks = ref<string[]>([])
  const error = ref<string | null>(null)
  const loading = ref(false)
  let request = 0

  /** The run's domains: its stream's (in order), else the stages it recorded; only calls that cannot fail on an odd run. */
  async function runDomains(id: number): Promise<string[]> {
    const detail = await api.call('runs.get', { id })
    if (detail.streamId !== null) {
      const { streams } = await api.call('streams.list', {})
      const stream = streams.find((s) => s.id === detail.streamId)
      if (stream) return stream.domains
    }
    return [...new Set(detail.stages.map((s) => s.domain).filter((d): d is string => d !== null))]
  }

  async function load(id: number | null): Promise<void> {
    const mine = ++request
    if (runId.value !== id) {
      checkpoints.value = []
      domains.value = []
      tasks.value = []
    }
    runId.value = id
    if (id === null) return
    loading.value = true
    try {
      const [list, names] = await Promise.all([api.call('checkpoints.list', { runId: id }), runDomains(id)])
      // a domain added by path may have no task; one that is gone is skipped rather than asked for (a 404 is noise)
      const known = new Set((await api.call('domains.list', {})).domains.map((d) => d.name))
      const found = await Promise.all(names.filter((n) => known.has(n)).map((name) => api.call('domains.get', { name }).then((d) => d.tasks)))
      if (mine !== request) return
      checkpoints.value = list.checkpoints
      domains.value = names
      tasks.value = [...new Set(found.flat())]
      error.value = null
    } catch (e) {
      if (mine === request) error.value = (e as Error).message
    } finally {
      if (mine === request) loading.value = false
    }
    if (!jobs.loaded) await jobs.load()
  }

  const evaluations = computed(() => {
    const out = new Map<number, CheckpointEvaluation[]>()
    for (const c of checkpoints.value) out.set(c.id, latestEvaluations(jobs.jobs, c.id))
    return out
  })

  /** checkpoints grow and import jobs wrote, which belong to no run: their actions take them by folder */
  const detached = computed(() => detachedCheckpoints(jobs.jobs))

  // ---- the action dialog: one action on one checkpoint (or the run, or an import) at a time -------------
  const dialog = ref<{ action: CheckpointAction; checkpoint: CheckpointSummary | null; detached?: DetachedCheckpoint | null } | null>(null)
  const form = ref<ActionForm>(emptyActionForm())
  const fieldError = ref<{ field: keyof ActionForm; message: string } | null>(null)
  /** the job the open dialog started: the dialog shows its progress, result or error */
  const startedJobId = ref<number | null>(null)
  const submitting = ref(false)
  const canPickFolder = computed(() => api.corpus.kind === 'dialog')

  function open(action: CheckpointAction, checkpoint: CheckpointSummary | null, detachedOne: DetachedCheckpoint | null = null): void {
    const keep = form.value
    form.value = {
      ...emptyActionForm(),
      exportDir: keep.exportDir,
      importPath: keep.importPath,
      domain: keep.domain || (domains.value[0] ?? ''),
      task: keep.task || (tasks.value[0] ?? '')
    }
    fieldError.value = null
    startedJobId.value = null
    queuedJobId.value = null
    dialog.value = { action, checkpoint, detached: detachedOne }
  }

  function close(): void {
    dialog.value = null
  }

  /** The run this page shows is still training (or waiting to): a queued job then waits for it to finish. */
  const runTraining = computed(() => {
    const run = useRunsStore().runs.find((r) => r.id === runId.value)
    return run !== undefined && (run.status === 'queued' || run.status === 'running' || run.status === 'paused')
  })
  /** the job the open dialog put in the queue (queue.addJob) instead of starting it */
  const queuedJobId = ref<number | null>(null)

  /**
   * Start the dialog's job, or (`queue`) add it to the run queue, after this run when it is still training; a wrong
   * field or a refused request is shown at its field.
   */
  async function submit(mode: 'start' | 'queue' = 'start'): Promise<void> {
    const d = dialog.value
    if (!d || runId.value === null || submitting.value) return
    const request = actionRequest(d.action, form.value, { checkpointId: d.checkpoint?.id ?? null, checkpointPath: d.detached?.path ?? null, runId: runId.value })
    if (!request.ok) {
      fieldError.value = { field: request.field, message: request.message }
      return
    }
    submitting.value = true
    try {
      if (mode === 'queue') {
        const job = await jobs.enqueue(request.start, runTraining.value ? [runId.value] : [])
        fieldError.value = null
        queuedJobId.value = job.id
        startedJobId.value = job.id
        return
      }
      const job = await jobs.start(request.start)
      fieldError.value = null
      startedJobId.value = job.id
    } catch (e) {
      const field = d.action === 'evaluate' && form.value.evalOn === 'text' ? 'textPath' : FIELD_OF[d.action]
      fieldError.value = { field, message: (e as Error).message }
    } finally {
      submitting.value = false
    }
  }

  /** Electron: a folder from the native dialog into a path field (browser mode types the path). */
  async function pickFolder(field: 'exportDir' | 'outDir' | 'importPath'): Promise<void> {
    if (api.corpus.kind !== 'dialog') return
    try {
      const [picked] = await api.corpus.pick('output-folder')
      if (picked !== undefined) form.value[field] = picked
    } catch (e) {
      fieldError.value = { field, message: (e as Error).message }
    }
  }

  // a training run writes checkpoints as it goes: list them again when it reports a change
  api.onEvent((event) => {
    if (event.type === 'run.updated' && event.run.id === runId.value) void load(runId.value)
  })

  return {
    runId,
    checkpoints,
    domains,
    tasks,
    error,
    loading,
    evaluations,
    detached,
    load,
    dialog,
    form,
    fieldError,
    startedJobId,
    queuedJobId,
    runTraining,
    submitting,
    canPickFolder,
    open,
    close,
    submit,
    pickFolder
  }
})
