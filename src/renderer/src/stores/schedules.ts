import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ExperimentSummary } from '../../../shared/contract'
import { useApi } from '../api/inject'

/** Experiments: a model, a stream and a growth schedule, each identified by its config hash. */
export const useSchedulesStore = defineStore('schedules', () => {
  const api = useApi()
  const experiments = ref<ExperimentSummary[]>([])
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    try {
      experiments.value = (await api.call('experiments.list', {})).experiments
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  api.onEvent((event) => {
    if (event.type === 'run.updated') void load() // run counts change when runs are created
  })

  return { experiments, error, load }
})
