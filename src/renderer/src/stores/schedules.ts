import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ExperimentSummary, Result } from '../../../shared/contract'
import type { RunConfigInput } from '../../../shared/run-config'
import { useApi } from '../api/inject'

/** Experiments: a model, a stream and a growth schedule, each identified by its config hash. */
export const useSchedulesStore = defineStore('schedules', () => {
  const api = useApi()
  const experiments = ref<ExperimentSummary[]>([])
  const presets = ref<Result<'presets.list'>['presets']>([])
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    try {
      experiments.value = (await api.call('experiments.list', {})).experiments
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  async function loadPresets(): Promise<void> {
    try {
      presets.value = (await api.call('presets.list', {})).presets
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  /** Queue a run; the engine validates the config and names any bad field. */
  async function start(config: RunConfigInput, fresh: boolean): Promise<boolean> {
    try {
      await api.call('runs.start', { config, fresh })
      error.value = null
      return true
    } catch (e) {
      error.value = (e as Error).message
      return false
    }
  }

  api.onEvent((event) => {
    if (event.type === 'run.updated') void load() // run counts change when runs are created
  })

  return { experiments, presets, error, load, loadPresets, start }
})
