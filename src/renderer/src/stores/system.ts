import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { SystemInfo } from '../../../shared/contract'
import { useApi } from '../api/inject'
import type { ConnectionState } from '../api/client'

/** What the status bar shows: backend, store, mode, and whether pushed events are flowing. */
export const useSystemStore = defineStore('system', () => {
  const api = useApi()
  const info = ref<SystemInfo | null>(null)
  const error = ref<string | null>(null)
  const connection = ref<ConnectionState>('connecting')

  async function load(): Promise<void> {
    try {
      info.value = await api.call('system.info', {})
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  // the report changes after start when the host reports a backend it probed (Electron's GPU window): pushed, not polled
  api.onEvent((event) => {
    if (event.type === 'backend.changed' && info.value) info.value = { ...info.value, backend: event.backend }
  })

  api.onConnection((state) => {
    connection.value = state
  })

  return { info, error, connection, transport: api.transport, load }
})
