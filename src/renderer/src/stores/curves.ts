// The curves panel's data: `runs.series` for the runs shown and the view state's metrics, x axis, smoothing,
// grouping and range. A newer request always wins: a response that arrives after a later one was sent is dropped.
import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import type { SeriesQuery, SeriesResult } from '../../../shared/series'
import { useApi } from '../api/inject'
import { useViewStateStore } from './viewState'

/** Series every run may record, offered before a first answer says which ones the runs have. */
export const COMMON_METRICS = ['ap_geo', 'ap', 'ap_plus', 'loss', 'lr', 'grad_norm', 'tokens_per_s', 'penalty'] as const

export const useCurvesStore = defineStore('curves', () => {
  const api = useApi()
  const view = useViewStateStore()
  // shallow: an answer is replaced whole, never changed in place; a deep ref made every one of its ~160,000 numbers
  // a reactive read while the chart's option was built (the option builder and the redraws took twice as long)
  const result = shallowRef<SeriesResult | null>(null)
  const error = ref<string | null>(null)
  const loading = ref(false)
  /** the query the shown result answers (tests and the bench read it) */
  const answered = ref<SeriesQuery | null>(null)
  let sent = 0
  // the last few answers by their query: toggling smoothing back or zooming out again draws at once, without a
  // request (a run that recorded more changes the panel's version, which is part of the key)
  const recent = new Map<string, SeriesResult>()
  const RECENT = 4

  /** What the picker offers: the series the runs recorded (interval and bookkeeping series left out), else the common ones. */
  const available = computed(() => {
    const names = result.value?.available ?? [...COMMON_METRICS]
    const offered = names.filter((n) => !/_(lo|hi)$|^(ppl_lo|ppl_hi|val_tokens|val_docs|val_loss)\/|^(params|eval_s)$/.test(n))
    return [...new Set([...offered, ...view.compare.metrics])]
  })

  /** the request in flight, by its key: asking the same again (the view, then its panel) waits for it instead */
  let pending: { key: string; done: Promise<void> } | null = null

  /** Ask for the curves of `runs` (default: the compared runs) with the view state's settings. */
  function load(runs: readonly number[] = view.compare.runs, version: string | number | null = null): Promise<void> {
    const c = view.compare
    const key = JSON.stringify([[...runs], c.metrics, c.x, c.range, c.smoothing, c.grouping, version])
    if (pending?.key === key) return pending.done
    const done = ask(runs, version).finally(() => {
      if (pending?.done === done) pending = null
    })
    pending = { key, done }
    return done
  }

  async function ask(runs: readonly number[], version: string | number | null): Promise<void> {
    const mine = ++sent
    const c = view.compare
    if (runs.length === 0 || c.metrics.length === 0) {
      result.value = null
      error.value = null
      return
    }
    const query: SeriesQuery = { runs: [...runs], metrics: [...c.metrics], x: c.x, range: c.range, smoothing: { ...c.smoothing }, grouping: { ...c.grouping } }
    const key = JSON.stringify([query, version])
    const kept = recent.get(key)
    if (kept) {
      recent.delete(key)
      recent.set(key, kept)
      result.value = kept
      answered.value = query
      error.value = null
      loading.value = false
      return
    }
    loading.value = true
    try {
      const r = await api.call('runs.series', query)
      if (mine !== sent) return
      recent.set(key, r)
      for (const k of recent.keys()) if (recent.size > RECENT) recent.delete(k)
      result.value = r
      answered.value = query
      error.value = null
    } catch (e) {
      if (mine !== sent) return
      error.value = (e as Error).message
    } finally {
      if (mine === sent) loading.value = false
    }
  }

  /**
   * Resolves once the curves of `runs` are answered (or refused, or nothing is asked: no series picked) and the page
   * drew them and is idle: the comparison's heavy request waits for it, so it does not compete with the first draw.
   * Gives up waiting after `timeoutMs` (no curves panel shows these runs).
   */
  function drawn(runs: readonly number[], timeoutMs = 15_000): Promise<void> {
    const want = [...runs].sort((a, b) => a - b).join(',')
    const done = () => view.compare.metrics.length === 0 || (!loading.value && (error.value !== null || [...(answered.value?.runs ?? [])].sort((a, b) => a - b).join(',') === want))
    return new Promise<void>((resolve) => {
      let stop: (() => void) | null = null
      const timer = setTimeout(() => finish(), timeoutMs)
      const finish = () => {
        clearTimeout(timer)
        stop?.()
        // two frames (the chart's render is one), then the first idle moment
        requestAnimationFrame(() =>
          requestAnimationFrame(() => (typeof requestIdleCallback === 'function' ? requestIdleCallback(() => resolve(), { timeout: 2000 }) : setTimeout(resolve, 0)))
        )
      }
      stop = watch(done, (ok) => ok && finish(), { immediate: false })
      if (done()) finish()
    })
  }

  /** Resolves once no curves request is pending (at once when none is). */
  function whenIdle(): Promise<void> {
    if (!loading.value) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const stop = watch(loading, (busy) => {
        if (busy) return
        stop()
        resolve()
      })
    })
  }

  return { result, error, loading, answered, available, load, drawn, whenIdle }
})
