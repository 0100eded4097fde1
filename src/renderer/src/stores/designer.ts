import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { DesignEstimate, Result, SavedExperimentSummary } from '../../../shared/contract'
import {
  designFacts,
  diffConfigs,
  elleReferenceFlags,
  estimateWall,
  formatPath,
  issuesAt,
  methodOptions,
  planStages,
  scratchConfig,
  validateDesign,
  type DesignFacts,
  type DesignIssue,
  type PathPart
} from '../../../shared/designer'
import type { MethodName, RunConfigInput } from '../../../shared/run-config'
import { useApi } from '../api/inject'
import { useStreamsStore } from './streams'

/** The draft as edited: a config as written, possibly invalid while it is typed (the validation says where). */
export type Draft = Record<string, unknown>

const ESTIMATE_DEBOUNCE_MS = 300

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T
const isRecord = (v: unknown): v is Record<string | number, unknown> => v !== null && typeof v === 'object'

/** Read a field of the draft by path. */
export function valueAt(root: unknown, path: readonly PathPart[]): unknown {
  let v = root
  for (const k of path) {
    if (!isRecord(v)) return undefined
    v = v[k]
  }
  return v
}

/**
 * The experiment designer: one draft config, checked as it is typed with the shared schema and the machine's facts
 * (stream, memory, throughput), its per-stage plan and estimates, its JSON text (editable both ways), saved
 * experiments, and the diff of two. Views only bind to this.
 */
export const useDesignerStore = defineStore('designer', () => {
  const api = useApi()
  const streams = useStreamsStore()

  const draft = ref<Draft>(clone(scratchConfig([])) as Draft)
  const streamId = ref<number | null>(null)
  const savedId = ref<number | null>(null)
  const saveName = ref('my-experiment')
  /** false until the designer has its lists and its first draft (ExperimentDesigner.vue): the fields are disabled
   * until then, so nothing typed is overwritten by the first draft arriving */
  const ready = ref(false)
  const saved = ref<SavedExperimentSummary[]>([])
  const presets = ref<Result<'presets.list'>['presets']>([])
  const estimate = ref<DesignEstimate | null>(null)
  const message = ref<string | null>(null)
  const error = ref<string | null>(null)

  // ---- JSON beside the form: the form writes it; typing valid JSON there replaces the draft ----
  const jsonText = ref(JSON.stringify(draft.value, null, 2))
  const jsonError = ref<string | null>(null)
  let fromJson = false
  watch(
    draft,
    (value) => {
      if (fromJson) fromJson = false
      else {
        jsonText.value = JSON.stringify(value, null, 2)
        jsonError.value = null
      }
    },
    { deep: true }
  )
  function setJson(text: string): void {
    jsonText.value = text
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      jsonError.value = `not JSON: ${(e as Error).message}`
      return
    }
    if (!isRecord(parsed) || Array.isArray(parsed)) {
      jsonError.value = 'the config must be a JSON object'
      return
    }
    jsonError.value = null
    fromJson = true
    draft.value = parsed as Draft
  }

  // ---- the stream and the machine's facts ----
  const stream = computed(() => streams.streams.find((s) => s.id === streamId.value) ?? null)
  const facts = computed<DesignFacts>(() => designFacts(estimate.value ?? null, stream.value ?? null))

  const check = computed(() => validateDesign(draft.value, facts.value))
  const issues = computed<DesignIssue[]>(() => (jsonError.value ? [{ path: '', message: jsonError.value }, ...check.value.issues] : check.value.issues))
  const plans = computed(() => (check.value.config ? planStages(check.value.config) : null))
  const walls = computed(() => {
    const config = check.value.config
    if (!config || !plans.value) return null
    return plans.value.map((p) => estimateWall(p, config.training.batchSize, estimate.value?.samples ?? []))
  })
  const flags = computed(() => (check.value.config ? elleReferenceFlags(check.value.config) : null))
  /** Why Start is disabled (null: it is not). */
  const blocked = computed(() => {
    const first = issues.value[0]
    if (first) return `${issues.value.length} problem${issues.value.length > 1 ? 's' : ''}: ${first.path ? `${first.path}: ` : ''}${first.message}`
    return null
  })
  const methodName = computed<MethodName | null>(() => {
    const n = valueAt(draft.value, ['method', 'name'])
    return typeof n === 'string' ? (n as MethodName) : null
  })
  const options = computed(() => (methodName.value ? methodOptions(methodName.value) : []))

  const issuesFor = (path: readonly PathPart[], below = false): DesignIssue[] => issuesAt(issues.value, formatPath(path), { below })

  let timer: ReturnType<typeof setTimeout> | null = null
  watch(
    draft,
    () => {
      if (timer) clearTimeout(timer)
      timer = setTimeout(() => void refreshEstimate(), ESTIMATE_DEBOUNCE_MS)
    },
    { deep: true, immediate: true }
  )
  async function refreshEstimate(): Promise<void> {
    try {
      estimate.value = await api.call('experiments.estimate', { config: clone(draft.value) })
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  // ---- editing ----
  /** Set a field by path, creating objects on the way; undefined removes it. */
  function setAt(path: readonly PathPart[], value: unknown): void {
    const root = draft.value
    let v: Record<string | number, unknown> = root
    path.slice(0, -1).forEach((k, i) => {
      if (!isRecord(v[k])) v[k] = typeof path[i + 1] === 'number' ? [] : {}
      v = v[k] as Record<string | number, unknown>
    })
    const last = path[path.length - 1]!
    if (value === undefined) delete v[last]
    else v[last] = value
  }
  /** A number input's text: a number, or the text itself so validation names the field (empty removes an optional field). */
  function setNumber(path: readonly PathPart[], text: string, optional = false): void {
    if (text.trim() === '') setAt(path, optional ? undefined : '')
    else setAt(path, Number.isFinite(Number(text)) ? Number(text) : text)
  }
  function setMethod(name: MethodName): void {
    setAt(['method'], { name })
  }
  const stages = computed(() => (Array.isArray(draft.value.stages) ? (draft.value.stages as unknown[]) : []))

  /** Train on a stream: one stage per domain, keeping what earlier stages had at the same position. */
  function useStream(id: number | null): void {
    streamId.value = id
    const s = streams.streams.find((x) => x.id === id)
    if (!s) return
    const old = stages.value
    draft.value.stages = s.domains.map((domain, i) => {
      const prev = isRecord(old[i]) ? clone(old[i] as Record<string, unknown>) : { steps: 100 }
      return { ...prev, domain }
    })
  }
  /** The first stream whose domains are the draft's stages in order. */
  function matchStream(): void {
    const domains = stages.value.map((s) => valueAt(s, ['domain']))
    const found = streams.streams.find((s) => s.domains.length === domains.length && s.domains.every((d, i) => d === domains[i]))
    streamId.value = found?.id ?? streamId.value
  }

  function load(config: unknown, name: string, id: number | null = null): void {
    draft.value = clone(config) as Draft
    savedId.value = id
    saveName.value = name
    matchStream()
    message.value = null
    error.value = null
  }
  function fromScratch(): void {
    const builtin = streams.streams.find((s) => s.builtin) ?? streams.streams[0]
    load(scratchConfig(builtin?.domains ?? []), 'my-experiment')
    streamId.value = builtin?.id ?? null
  }
  function fromPreset(name: string): void {
    const preset = presets.value.find((p) => p.name === name)
    if (preset) load(preset.config, `${name}-copy`)
  }
  async function fromSaved(id: number, asCopy = false): Promise<void> {
    try {
      const s = await api.call('experiments.get', { id })
      load(s.config, asCopy ? `${s.name}-copy` : s.name, asCopy ? null : s.id)
    } catch (e) {
      error.value = (e as Error).message
    }
  }
  async function fromRun(id: number): Promise<void> {
    try {
      const { config } = await api.call('runs.config', { id })
      load(config, `run-${id}-copy`)
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  // ---- saved experiments ----
  async function loadLists(): Promise<void> {
    try {
      const [list, p] = await Promise.all([api.call('experiments.list', {}), presets.value.length ? null : api.call('presets.list', {})])
      saved.value = list.saved
      if (p) presets.value = p.presets
    } catch (e) {
      error.value = (e as Error).message
    }
  }
  async function save(): Promise<boolean> {
    try {
      const s = await api.call('experiments.save', { id: savedId.value ?? undefined, name: saveName.value, config: clone(draft.value) as RunConfigInput })
      savedId.value = s.id
      message.value = `saved as "${s.name}"`
      error.value = null
      return true
    } catch (e) {
      error.value = (e as Error).message
      return false
    }
  }
  async function remove(id: number): Promise<void> {
    try {
      await api.call('experiments.delete', { id })
      if (savedId.value === id) savedId.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }
  async function start(): Promise<boolean> {
    if (blocked.value) return false
    try {
      await api.call('runs.start', { config: clone(draft.value) as RunConfigInput, stream: streamId.value ?? undefined })
      error.value = null
      return true
    } catch (e) {
      error.value = (e as Error).message
      return false
    }
  }

  // ---- diff of two experiments: saved ones, or the draft ('draft') ----
  const diffLeft = ref<number | 'draft' | null>(null)
  const diffRight = ref<number | 'draft' | null>(null)
  const diffConfigsById = ref(new Map<number, unknown>())
  async function configOf(ref: number | 'draft'): Promise<unknown> {
    if (ref === 'draft') return draft.value
    const known = diffConfigsById.value.get(ref)
    if (known) return known
    const s = await api.call('experiments.get', { id: ref })
    diffConfigsById.value.set(ref, s.config)
    return s.config
  }
  const diff = ref<ReturnType<typeof diffConfigs> | null>(null)
  async function compare(): Promise<void> {
    if (diffLeft.value === null || diffRight.value === null) return
    try {
      diffConfigsById.value.clear()
      diff.value = diffConfigs(await configOf(diffLeft.value), await configOf(diffRight.value))
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  function exportText(): string {
    return `${JSON.stringify(draft.value, null, 2)}\n`
  }

  api.onEvent((event) => {
    if (event.type === 'experiments.changed') void loadLists()
  })

  return {
    draft,
    ready,
    streamId,
    stream,
    savedId,
    saveName,
    saved,
    presets,
    estimate,
    message,
    error,
    jsonText,
    jsonError,
    setJson,
    check,
    issues,
    plans,
    walls,
    flags,
    blocked,
    methodName,
    options,
    issuesFor,
    stages,
    setAt,
    setNumber,
    setMethod,
    useStream,
    fromScratch,
    fromPreset,
    fromSaved,
    fromRun,
    loadLists,
    save,
    remove,
    start,
    diffLeft,
    diffRight,
    diff,
    compare,
    exportText
  }
})
