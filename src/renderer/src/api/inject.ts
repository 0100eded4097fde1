import { inject, type InjectionKey } from 'vue'
import type { ConnectionAwareClient } from './client'

export const API_CLIENT: InjectionKey<ConnectionAwareClient> = Symbol('elle-api-client')

/** The one API client of the app; stores call this instead of knowing the transport. */
export function useApi(): ConnectionAwareClient {
  const client = inject(API_CLIENT)
  if (!client) throw new Error('the API client was not provided to the app')
  return client
}
