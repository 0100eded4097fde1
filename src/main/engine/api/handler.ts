// The engine's side of the contract: validates every request, runs it, and maps engine errors to
// transport-neutral ApiErrors. Both transports (Electron IPC and HTTP) call exactly this.
import pkg from '../../../../package.json'
import { ApiError, contract, describeZodError, parseRequest, type Method, type Result, type SystemInfo } from '../../../shared/contract'
import type { Engine } from '../engine'
import { StoreError } from '../store/store'

type Handlers = { [M in Method]: (params: ReturnType<typeof parseRequest<M>>['params']) => Result<M> | Promise<Result<M>> }

export type ApiHandler = (method: unknown, params: unknown) => Promise<unknown>

export function createApiHandler(engine: Engine, mode: SystemInfo['mode']): ApiHandler {
  const handlers: Handlers = {
    'system.info': () => ({
      version: pkg.version,
      backend: engine.backend,
      store: { path: engine.store.path, schemaVersion: engine.store.schemaVersion },
      mode
    }),
    'runs.list': (p) => ({ runs: engine.store.listRuns(p) }),
    'runs.get': (p) => engine.store.getRunDetail(p.id),
    'domains.list': () => ({ domains: engine.store.listDomains() }),
    'experiments.list': () => ({ experiments: engine.store.listExperiments() })
  }

  return async (rawMethod, rawParams) => {
    const { method, params } = parseRequest(rawMethod, rawParams)
    try {
      const handler = handlers[method] as (p: unknown) => unknown
      const result = await handler(params)
      // Check our own output too: a result that breaks the contract is a server bug, reported as such.
      const checked = contract[method].result.safeParse(result)
      if (!checked.success) throw new ApiError('internal', describeZodError(`${method} result`, checked.error))
      return checked.data
    } catch (error) {
      throw toApiError(error)
    }
  }
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof StoreError) {
    if (error.code === 'not_found') return new ApiError('not_found', error.message)
    if (error.code === 'conflict') return new ApiError('conflict', error.message)
    if (error.code === 'invalid') return new ApiError('bad_request', error.message)
  }
  return new ApiError('internal', error instanceof Error ? error.message : String(error))
}
