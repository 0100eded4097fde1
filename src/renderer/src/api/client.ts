// The renderer's one client interface over two transports: Electron IPC (through the preload bridge)
// or HTTP + WebSocket (browser mode). Everything received is validated against the shared contract.
import { ApiError, ApiErrorBody, ApiEvent, contract, describeZodError, type ApiClient, type Method, type Params, type Result } from '../../../shared/contract'
import type { PreloadBridge } from '../../../shared/ipc'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

export interface ConnectionAwareClient extends ApiClient {
  readonly transport: 'ipc' | 'http'
  onConnection(listener: (state: ConnectionState) => void): () => void
}

function checkResult<M extends Method>(method: M, value: unknown): Result<M> {
  const parsed = contract[method].result.safeParse(value)
  if (!parsed.success) throw new ApiError('internal', describeZodError(`${method} response`, parsed.error))
  return parsed.data as Result<M>
}

class Listeners<T> {
  private readonly set = new Set<(value: T) => void>()
  add(listener: (value: T) => void): () => void {
    this.set.add(listener)
    return () => this.set.delete(listener)
  }
  emit(value: T): void {
    for (const l of this.set) l(value)
  }
}

class IpcClient implements ConnectionAwareClient {
  readonly transport = 'ipc' as const
  private readonly events = new Listeners<ApiEvent>()

  constructor(private readonly bridge: PreloadBridge) {
    bridge.onEvent((payload) => {
      const event = ApiEvent.safeParse(payload)
      if (event.success) this.events.emit(event.data)
      else console.error(describeZodError('event from main', event.error))
    })
  }

  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const response = await this.bridge.invoke(method, params)
    if (!response.ok) throw new ApiError(response.error.code, response.error.message)
    return checkResult(method, response.result)
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    return this.events.add(listener)
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    listener('connected') // IPC lives as long as the window
    return () => undefined
  }
}

class HttpClient implements ConnectionAwareClient {
  readonly transport = 'http' as const
  private readonly events = new Listeners<ApiEvent>()
  private readonly connection = new Listeners<ConnectionState>()
  private state: ConnectionState = 'connecting'
  private retryMs = 500

  constructor(private readonly origin: Location) {
    this.connect()
  }

  private setState(state: ConnectionState): void {
    this.state = state
    this.connection.emit(state)
  }

  // Pushed events over one WebSocket; reconnects with backoff, and listeners refetch on reconnect.
  private connect(): void {
    const scheme = this.origin.protocol === 'https:' ? 'wss' : 'ws'
    const socket = new WebSocket(`${scheme}://${this.origin.host}/api/events`)
    socket.addEventListener('open', () => {
      this.retryMs = 500
      this.setState('connected')
    })
    socket.addEventListener('message', (message) => {
      try {
        const event = ApiEvent.safeParse(JSON.parse(String(message.data)))
        if (event.success) this.events.emit(event.data)
        else console.error(describeZodError('pushed event', event.error))
      } catch (error) {
        console.error('unreadable pushed event', error)
      }
    })
    socket.addEventListener('close', () => {
      this.setState('disconnected')
      setTimeout(() => this.connect(), this.retryMs)
      this.retryMs = Math.min(this.retryMs * 2, 10_000)
    })
  }

  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const response = await fetch(`/api/rpc/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(params ?? {})
    })
    const body: unknown = await response.json().catch(() => null)
    if (!response.ok) {
      const error = ApiErrorBody.safeParse(body)
      if (error.success) throw new ApiError(error.data.error.code, error.data.error.message)
      throw new ApiError('internal', `${method} failed with HTTP ${response.status}`)
    }
    return checkResult(method, (body as { result?: unknown } | null)?.result)
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    return this.events.add(listener)
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    listener(this.state)
    return this.connection.add(listener)
  }
}

export function createClient(): ConnectionAwareClient {
  const bridge = (window as unknown as { elle?: PreloadBridge }).elle
  return bridge ? new IpcClient(bridge) : new HttpClient(window.location)
}
