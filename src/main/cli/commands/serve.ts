import { backendRequestFromEnv, openEngineApi, uploadsDir } from '../../engine/api/facade'
import { rendererDir } from '../../app-root'
import { assertLoopback, startBrowserServer, type BrowserServer } from '../../transports/http/server'
import { BACKEND_FLAG, intFlag, stringFlag, UsageError, type Command } from '../args'
import { describeBackend } from '../format'
import { announceNewStore, cliStorePath } from '../store'

export interface ServeOptions {
  host: string
  port: number
  db: string | undefined
  backend: string | undefined
  json: boolean
  /** why Electron was not used, when `elle start` fell back to browser mode */
  fallbackReason?: string
}

/** Browser mode until SIGINT/SIGTERM; the store is closed cleanly on the way out. */
export async function serve(options: ServeOptions): Promise<number> {
  assertLoopback(options.host) // before touching the store
  const storePath = cliStorePath(options.db)
  const api = await openEngineApi({ dbPath: storePath.path, backend: backendRequestFromEnv(options.backend), prepareDefaultStream: true, mode: 'browser' })
  announceNewStore(storePath)
  api.watchExternalChanges() // runs started from a terminal show up live too
  let server: BrowserServer
  try {
    server = await startBrowserServer({
      handler: api.handler,
      events: api.events,
      rendererDir: rendererDir(),
      host: options.host,
      port: options.port,
      uploadDir: uploadsDir(api.dataDir)
    })
  } catch (error) {
    await api.close()
    throw error
  }
  if (options.json) {
    console.log(JSON.stringify({ url: server.openUrl, port: server.port, store: api.storePath, backend: api.backend.active, fallbackReason: options.fallbackReason ?? null }))
  } else {
    if (options.fallbackReason) console.log(`Electron was not used: ${options.fallbackReason}\nServing the workbench in browser mode instead.\n`)
    console.log(`ELLE Workbench (browser mode): open ${server.openUrl}`)
    console.log(`store: ${api.storePath}`)
    console.log(describeBackend(api.backend))
    console.log('Press Ctrl+C to stop.')
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await server.close()
  await api.close()
  return 0
}

export const serveFlags = {
  host: { type: 'string', description: 'loopback address to listen on', default: '127.0.0.1' },
  port: { type: 'string', description: 'port (0 = any free port)', default: '5183' },
  db: { type: 'string', description: 'experiment store (env: ELLE_DB; default: the data directory)' },
  backend: BACKEND_FLAG,
  json: { type: 'boolean', description: 'print one JSON line with the URL when ready' }
} as const satisfies Command['flags']

export function serveOptionsFrom(values: Record<string, string | boolean | undefined>): ServeOptions {
  const host = stringFlag(values.host) ?? '127.0.0.1'
  try {
    assertLoopback(host)
  } catch (error) {
    throw new UsageError((error as Error).message) // a --host the server would refuse is a bad argument
  }
  return {
    host,
    port: intFlag(values.port, 'port', { min: 0, max: 65535 }) ?? 5183,
    db: stringFlag(values.db),
    backend: stringFlag(values.backend),
    json: values.json === true
  }
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the workbench in browser mode on a loopback address (no Electron needed).',
  usage: 'elle serve [--host 127.0.0.1] [--port N] [--db FILE] [--json]',
  // serves the whole contract to the workbench page
  methods: 'all',
  flags: serveFlags,
  run: ({ values }) => serve(serveOptionsFrom(values))
}
