import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DomainSummary, StreamSummary } from '../../../shared/contract'
import { useApi } from '../api/inject'

/** Domains in the store; streams are ordered lists of them. */
export const useStreamsStore = defineStore('streams', () => {
  const api = useApi()
  const domains = ref<DomainSummary[]>([])
  const streams = ref<StreamSummary[]>([])
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    try {
      const [d, s] = await Promise.all([api.call('domains.list', {}), api.call('streams.list', {})])
      domains.value = d.domains
      streams.value = s.streams
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  api.onEvent((event) => {
    // a domain's deletion or a stream's change (here or in another process) changes both lists
    if (event.type === 'domains.changed' || event.type === 'streams.changed') void load()
  })

  return { domains, streams, error, load }
})
