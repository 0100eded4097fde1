import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { HeatmapInput } from '../../../shared/charts/types'
import { latexApTable, latexDownstreamTable } from '../../../shared/export/latex'
import { downstreamRows } from '../../../shared/lifelong/downstream'
import { diffMatrix, GROUP_KEYS, groupMatrix, groupRuns, heatmapInput, runMatrix, type GroupKey, type Matrix, type MatrixRows } from '../../../shared/lifelong/matrix'
import { stageAp } from '../../../shared/lifelong/stage'
import { runTransfer } from '../../../shared/lifelong/transfer'
import { useApi } from '../api/inject'
import { useComparisonsStore } from './comparisons'

export const MATRIX_MODES = ['run', 'group', 'diff'] as const
export type MatrixMode = (typeof MATRIX_MODES)[number]

/** A thing a matrix can be drawn for: one run (`run:<id>`) or a group of runs over seeds (`group:<by>:<name>`). */
export interface MatrixSubject {
  key: string
  label: string
  runIds: number[]
}

/**
 * The lifelong panels' choices for the comparison in `comparisons`: which matrix (one run, a group's mean over
 * seeds, or A − B), the downstream reference run, and the exports. Grouping is by method or experiment here;
 * the curves panel's grouping (view-state `compare.grouping`) also knows sweep groups, which a comparison does
 * not carry yet.
 */
export const useLifelongStore = defineStore('lifelong', () => {
  const api = useApi()
  const comparisons = useComparisonsStore()
  const mode = ref<MatrixMode>('run')
  const rows = ref<MatrixRows>('stage-ends')
  const groupBy = ref<GroupKey>('method')
  const chosenA = ref<string | null>(null)
  const chosenB = ref<string | null>(null)
  const chosenReference = ref<number | null>(null)
  const busy = ref<string | null>(null)
  const exportError = ref<string | null>(null)

  const comparison = computed(() => comparisons.comparison)
  const runs = computed(() => comparison.value?.runs ?? [])
  const stream = computed(() => comparison.value?.stream ?? [])
  const runSubjects = computed<MatrixSubject[]>(() => runs.value.map((r) => ({ key: `run:${r.id}`, label: `${r.label} · ${r.experimentName}`, runIds: [r.id] })))
  const groupSubjects = computed<MatrixSubject[]>(() =>
    groupRuns(runs.value, groupBy.value).map((g) => ({ key: `group:${g.key}`, label: `${g.label} (${g.runIds.length} run${g.runIds.length === 1 ? '' : 's'})`, runIds: g.runIds }))
  )
  /** what A (and B) can be in the current mode */
  const options = computed(() => (mode.value === 'run' ? runSubjects.value : mode.value === 'group' ? groupSubjects.value : [...runSubjects.value, ...groupSubjects.value]))
  const pick = (chosen: string | null, not: string | null): MatrixSubject | null =>
    options.value.find((o) => o.key === chosen && o.key !== not) ?? options.value.find((o) => o.key !== not) ?? null
  const subjectA = computed(() => pick(chosenA.value, null))
  const subjectB = computed(() => (mode.value === 'diff' ? pick(chosenB.value, subjectA.value?.key ?? null) : null))

  function matrixOf(s: MatrixSubject): Matrix {
    const mats = s.runIds.flatMap((id) => {
      const r = runs.value.find((x) => x.id === id)
      return r ? [runMatrix(r, stream.value, rows.value)] : []
    })
    return mats.length === 1 ? mats[0]! : groupMatrix(mats)
  }

  /** the heat map's input, or why there is none */
  const matrix = computed<{ input: HeatmapInput; seeds: number } | { reason: string } | null>(() => {
    const a = subjectA.value
    if (!a) return null
    if (mode.value !== 'diff') {
      const m = matrixOf(a)
      return { input: heatmapInput(m, 'ppl', a.label), seeds: a.runIds.length }
    }
    const b = subjectB.value
    if (!b) return { reason: 'A difference needs two runs or groups: pick another run to compare.' }
    const d = diffMatrix(matrixOf(a), matrixOf(b))
    if (d.keys.length === 0) return { reason: `${a.label} and ${b.label} have no ${rows.value === 'stage-ends' ? 'stage end' : 'validation step'} in common.` }
    return { input: heatmapInput(d, 'diff', `${a.label} − ${b.label}`), seeds: Math.min(a.runIds.length, b.runIds.length) }
  })

  const referenceId = computed(() => runs.value.find((r) => r.id === chosenReference.value)?.id ?? runs.value[0]?.id ?? null)
  const downstream = computed(() => downstreamRows(runs.value, referenceId.value))
  const stages = computed(() => runs.value.map((r) => ({ run: r, rows: stageAp(r), transfer: runTransfer(r.transfer) })))

  const ids = computed(() => runs.value.map((r) => r.id))
  async function exporting<T>(what: string, work: () => Promise<T>): Promise<T | null> {
    busy.value = what
    exportError.value = null
    try {
      return await work()
    } catch (e) {
      exportError.value = `${what}: ${(e as Error).message}`
      return null
    } finally {
      busy.value = null
    }
  }
  /** every stored point of the compared runs' series (or those chosen), as long-format CSV */
  const csv = (metrics?: string[]) => exporting('CSV', () => api.call('runs.exportCsv', { ids: ids.value, ...(metrics ? { metrics } : {}) }))
  const report = () =>
    exporting('HTML report', async () => (await api.call('runs.report', { ids: ids.value, ...(referenceId.value === null ? {} : { reference: referenceId.value }) })).html)
  function latex(kind: 'ap' | 'downstream'): string | null {
    const c = comparison.value
    if (!c) return null
    return kind === 'ap' ? latexApTable(c) : latexDownstreamTable(c)
  }

  return {
    mode,
    rows,
    groupBy,
    chosenA,
    chosenB,
    chosenReference,
    busy,
    exportError,
    runs,
    stream,
    options,
    subjectA,
    subjectB,
    matrix,
    referenceId,
    downstream,
    stages,
    ids,
    csv,
    report,
    latex,
    GROUP_KEYS
  }
})
