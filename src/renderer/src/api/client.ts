// The renderer's one client interface over two transports: Electron IPC (through the preload bridge)
// or HTTP + WebSocket (browser mode). Everything received is validated against the shared contract.
import { ApiError, ApiErrorBody, ApiEvent, contract, describeZodError, type ApiClient, type Method, type Params, type Result } from '../../../shared/contract'
import type { PickKind, PreloadBridge } from '../../../shared/ipc'
import type { UploadProgress, UploadStarted } from '../../../shared/uploads'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

/**
 * How this transport gets a corpus onto the machine running the engine, before domains.addJob reads it: in
 * browser mode files are uploaded into a staging folder; in Electron the native dialog names local paths.
 */
export type CorpusTransfer =
  | {
      kind: 'upload'
      start(): Promise<UploadStarted>
      put(id: string, rel: string, file: Blob): Promise<UploadProgress>
      discard(id: string): Promise<void>
    }
  | { kind: 'dialog'; pick(kind: PickKind): Promise<string[]> }

export interface ConnectionAwareClient extends ApiClient {
  readonly transport: 'ipc' | 'http'
  readonly corpus: CorpusTransfer
  onConnection(listener: (state: ConnectionState) => void): () => void
}

/** The error body of a non-API route (uploads), as an ApiError. */
async function failure(response: Response, what: string): Promise<ApiError> {
  const body = ApiErrorBody.safeParse(await response.json().catch(() => null))
  return body.success ? new ApiError(body.data.error.code, body.data.error.message) : new ApiError('internal', `${what} failed with HTTP ${response.status}`)
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
  readonly corpus: CorpusTransfer = {
    kind: 'dialog',
    pick: async (kind) => {
      const response = await this.bridge.pickCorpus(kind)
      if (!response.ok) throw new ApiError(response.error.code, response.error.message)
      return response.paths
    }
  }

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
  readonly corpus: CorpusTransfer = {
    kind: 'upload',
    start: async () => {
      const response = await fetch('/api/uploads', { method: 'POST', credentials: 'same-origin' })
      if (!response.ok) throw await failure(response, 'starting the upload')
      return (await response.json()) as UploadStarted
    },
    put: async (id, rel, file) => {
      let response: Response
      try {
        response = await fetch(`/api/uploads/${encodeURIComponent(id)}?path=${encodeURIComponent(rel)}`, { method: 'PUT', credentials: 'same-origin', body: file })
      } catch {
        // the server closes the connection after a 413 it sends while the body still streams: the upload is gone either way
        throw new ApiError('bad_request', `${rel} could not be uploaded (the server refused it; check the size limits)`)
      }
      if (!response.ok) throw await failure(response, `uploading ${rel}`)
      return (await response.json()) as UploadProgress
    },
    discard: async (id) => {
      await fetch(`/api/uploads/${encodeURIComponent(id)}`, { method: 'DELETE', credentials: 'same-origin' }).catch(() => undefined)
    }
  }
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
