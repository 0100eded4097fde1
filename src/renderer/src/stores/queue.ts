import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Params, QueueBudget, QueueEntry, QueueRef, QueueSettings, QueueState, RunNotice } from '../../../shared/contract'
import { entryKey, entryName, entryRef, firstLine, pendingEntries, reorderEntries } from '../../../shared/queue-view'
import type { RunConfigInput } from '../../../shared/run-config'
import { useApi } from '../api/inject'

const NOTIFY_KEY = 'elle.queue.notify'
const RELOAD_DEBOUNCE_MS = 150

type MoveTo = 'top' | 'bottom' | number

/**
 * The durable run queue (issue 14): its entries in order, settings and flags from `queue.list`, kept current by
 * pushed `queue.changed` events; moves, removes, retries, pause/resume and settings through the contract; whether
 * something trains now (status bar); browser notifications for `run.notice` when the user asked for them.
 */
export const useQueueStore = defineStore('queue', () => {
  const api = useApi()
  const state = ref<QueueState | null>(null)
  const error = ref<string | null>(null)
  const loading = ref(false)
  /** what the last reorder did, for the aria-live region ("run 7 moved to position 2 of 3") */
  const announcement = ref('')
  const trainingActive = ref(false)
  const lastNotice = ref<RunNotice | null>(null)
  const notify = ref(readNotify())
  const notifyPermission = ref<NotificationPermission | 'unsupported'>(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission)

  /** the entries still in the queue, in order */
  const entries = computed(() => pendingEntries(state.value?.entries ?? []))
  /** every entry's group by run id (finished ones too): what the morning summary groups by */
  const groupOf = computed(() => new Map((state.value?.entries ?? []).flatMap((e) => (e.kind === 'run' ? [[e.runId, e.group] as const] : []))))
  const finishedCount = computed(() => (state.value?.entries ?? []).filter((e) => e.state === 'finished').length)

  async function load(): Promise<void> {
    loading.value = true
    try {
      apply(await api.call('queue.list', { includeFinished: true }))
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    } finally {
      loading.value = false
    }
  }
  function apply(next: QueueState): void {
    state.value = next
    trainingActive.value = next.trainingActive
  }

  let timer: ReturnType<typeof setTimeout> | null = null
  function reloadSoon(): void {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => void load(), RELOAD_DEBOUNCE_MS)
  }

  /** Run one call; a refusal becomes `error` (the engine names the field) and the answer false. */
  async function attempt(call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call()
      error.value = null
      return true
    } catch (e) {
      error.value = (e as Error).message
      return false
    }
  }

  /** Move an entry (shown at once, then as the engine answers) and say where it went. */
  async function move(entry: QueueEntry, to: MoveTo): Promise<boolean> {
    const current = state.value
    if (!current) return false
    const key = entryKey(entry)
    const order = reorderEntries(entries.value, key, to)
    const position = new Map(order.map((e, i) => [entryKey(e), i]))
    state.value = { ...current, entries: current.entries.map((e) => (position.has(entryKey(e)) ? { ...e, position: position.get(entryKey(e))! } : e)) }
    const ok = await attempt(async () => {
      const answer = await api.call('queue.move', { ...entryRef(entry), to })
      apply(answer)
      return answer
    })
    if (!ok) await load()
    const at = entries.value.findIndex((e) => entryKey(e) === key)
    announcement.value = ok ? `${entryName(entry)} moved to position ${at + 1} of ${entries.value.length}` : `${entryName(entry)} not moved: ${error.value}`
    return ok
  }

  const remove = (ref: QueueRef): Promise<boolean> => attempt(() => api.call('queue.remove', ref)).then(afterChange)
  const retry = (ref: QueueRef): Promise<boolean> => attempt(() => api.call('queue.retry', ref)).then(afterChange)
  /** Cancel a running entry: its run (runs.cancel) or its job (jobs.cancel). */
  const cancelRunning = (entry: QueueEntry): Promise<boolean> =>
    attempt(() => (entry.kind === 'run' ? api.call('runs.cancel', { id: entry.runId }) : api.call('jobs.cancel', { id: entry.jobId }))).then(afterChange)
  const pause = (): Promise<boolean> => attempt(async () => apply(await api.call('queue.pause', {})))
  const resume = (): Promise<boolean> => attempt(async () => apply(await api.call('queue.resume', {})))
  const setBudget = (runId: number, budget: QueueBudget | null): Promise<boolean> => attempt(() => api.call('queue.update', { runId, budget })).then(afterChange)
  /** Change an entry's priority, dependencies, group and budget at once; a refusal (unknown run, cycle) lands in `error`. */
  const update = (ref: QueueRef, changes: Omit<Params<'queue.update'>, 'runId' | 'jobId'>): Promise<boolean> =>
    attempt(() => api.call('queue.update', { ...ref, ...changes })).then(afterChange)
  function afterChange(ok: boolean): boolean {
    if (ok) void load()
    return ok
  }

  async function saveSettings(settings: Partial<QueueSettings>): Promise<boolean> {
    return attempt(async () => {
      const saved = await api.call('queue.settings', settings)
      if (state.value) state.value = { ...state.value, settings: saved }
      void load() // the window and ETA follow the settings
    })
  }

  /** Queue entries by one call; answers the added entries, or null after a refusal (then in `error`). */
  async function enqueue(call: () => Promise<{ entries: QueueEntry[] }>): Promise<QueueEntry[] | null> {
    let added: QueueEntry[] | null = null
    const ok = await attempt(async () => {
      added = (await call()).entries
    })
    return afterChange(ok) ? added : null
  }
  /** Queue one config (the designer's draft) at the bottom. */
  const add = (config: RunConfigInput, stream?: number): Promise<QueueEntry[] | null> => enqueue(() => api.call('queue.add', { config, stream }))
  /** Queue the cross product of a config's methods × seeds × option values as a named group. */
  const sweep = (params: Params<'queue.sweep'>): Promise<QueueEntry[] | null> => enqueue(() => api.call('queue.sweep', params))

  // ---- browser notifications (Electron's main process shows native ones itself) ----
  function readNotify(): boolean {
    try {
      return localStorage.getItem(NOTIFY_KEY) === 'on'
    } catch {
      return false
    }
  }
  /** Turn notifications on (asking the browser's permission: call from a click) or off. */
  async function setNotify(on: boolean): Promise<void> {
    if (on && typeof Notification !== 'undefined' && Notification.permission === 'default') notifyPermission.value = await Notification.requestPermission()
    notify.value = on && notifyPermission.value === 'granted'
    try {
      localStorage.setItem(NOTIFY_KEY, notify.value ? 'on' : 'off')
    } catch {
      // private mode: the choice lasts for this page only
    }
  }
  function showNotice(notice: RunNotice): void {
    lastNotice.value = notice
    if (api.transport !== 'http' || !notify.value || typeof Notification === 'undefined' || Notification.permission !== 'granted') return
    new Notification(`ELLE: ${notice.experimentName} (${notice.kind})`, { body: firstLine(notice.message), tag: `elle-run-${notice.runId}-${notice.kind}` })
  }

  api.onEvent((event) => {
    if (event.type === 'queue.changed') reloadSoon()
    else if (event.type === 'training.active') trainingActive.value = event.active
    else if (event.type === 'run.notice') showNotice(event.notice)
    else if (event.type === 'run.updated' && state.value?.entries.some((e) => e.kind === 'run' && e.runId === event.run.id)) reloadSoon()
  })
  api.onConnection((s) => {
    if (s === 'connected' && state.value) void load()
  })

  return {
    state,
    entries,
    groupOf,
    finishedCount,
    error,
    loading,
    announcement,
    trainingActive,
    lastNotice,
    notify,
    notifyPermission,
    load,
    move,
    remove,
    retry,
    cancelRunning,
    pause,
    resume,
    setBudget,
    update,
    saveSettings,
    add,
    sweep,
    setNotify
  }
})
