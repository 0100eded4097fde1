import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DomainSummary } from '../../../shared/contract'
import { useApi } from '../api/inject'

/** Domains in the store; streams are ordered lists of them. */
export const useStreamsStore = defineStore('streams', () => {
  const api = useApi()
  const domains = ref<DomainSummary[]>([])
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    try {
      domains.value = (await api.call('domains.list', {})).domains
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  api.onEvent((event) => {
    if (event.type === 'domains.changed') void load()
  })

  return { domains, error, load }
})
