// Browser mode: the same renderer and the same API contract over HTTP + WebSocket, for machines where
// Electron cannot run. Loopback only; every request and socket needs the access token.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { ApiError, type ApiErrorBody, type ErrorCode } from '../../../shared/contract'
import type { ApiHandler } from '../../engine/api/handler'
import type { EventBus } from '../../engine/events'

export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const
const MAX_BODY_BYTES = 1 << 20

const STATUS_BY_CODE: Record<ErrorCode, number> = { bad_request: 400, unauthorized: 401, not_found: 404, conflict: 409, internal: 500 }

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2'
}

export interface BrowserServerOptions {
  handler: ApiHandler
  events: EventBus
  /** folder with the built renderer (index.html + assets) */
  rendererDir: string
  host?: string
  /** 0 picks a free port */
  port?: number
  /** fixed token (tests); a random one otherwise */
  token?: string
}

export interface BrowserServer {
  url: string
  /** the URL to open: carries the token once; the server trades it for a cookie */
  openUrl: string
  port: number
  token: string
  close(): Promise<void>
}

export class ServeError extends Error {}

export function assertLoopback(host: string): void {
  if (!(LOOPBACK_HOSTS as readonly string[]).includes(host)) {
    throw new ServeError(`browser mode listens on loopback only (${LOOPBACK_HOSTS.join(', ')}); refusing host "${host}"`)
  }
}

function securityHeaders(port: number): Record<string, string> {
  // CSP host sources cannot be IPv6 literals, so only the IPv4 and name forms are listed.
  const ws = [`ws://127.0.0.1:${port}`, `ws://localhost:${port}`].join(' ')
  return {
    'Content-Security-Policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' ${ws}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin'
  }
}

function sameToken(candidate: string | undefined, token: string): boolean {
  if (!candidate) return false
  const a = Buffer.from(candidate)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return rest.join('=')
  }
  return undefined
}

export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const host = options.host ?? '127.0.0.1'
  assertLoopback(host)
  const indexFile = path.join(options.rendererDir, 'index.html')
  if (!fs.existsSync(indexFile)) throw new ServeError(`the renderer is not built (${indexFile} is missing); run "npm run build"`)
  const token = options.token ?? randomBytes(24).toString('base64url')
  const rendererRoot = path.resolve(options.rendererDir)

  let port = 0
  const cookieName = () => `elle_token_${port}`
  const allowedHosts = () => new Set(LOOPBACK_HOSTS.map((h) => `${h.includes(':') ? `[${h}]` : h}:${port}`))
  const allowedOrigins = () => new Set([...allowedHosts()].map((h) => `http://${h}`))

  const authorised = (req: http.IncomingMessage): boolean => {
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined
    return sameToken(bearer, token) || sameToken(cookieValue(req.headers.cookie, cookieName()), token)
  }
  // DNS-rebinding and cross-site protection: only our own host names, and only our own origin.
  const trustedRequest = (req: http.IncomingMessage): string | null => {
    if (!allowedHosts().has(req.headers.host ?? '')) return `unexpected Host header "${req.headers.host ?? ''}"`
    const origin = req.headers.origin
    if (origin !== undefined && !allowedOrigins().has(origin)) return `cross-origin request from "${origin}" refused`
    return null
  }

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { ...securityHeaders(port), 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
    res.end(JSON.stringify(body))
  }
  const sendError = (res: http.ServerResponse, code: ErrorCode, message: string, status = STATUS_BY_CODE[code]): void => {
    const body: ApiErrorBody = { error: { code, message } }
    sendJson(res, status, body)
  }

  const readBody = (req: http.IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_BODY_BYTES) {
          reject(new ApiError('bad_request', `request body exceeds ${MAX_BODY_BYTES} bytes`))
          req.destroy()
        } else chunks.push(chunk)
      })
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      req.on('error', reject)
    })

  const handleApi = async (req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> => {
    if (req.method !== 'POST') return sendError(res, 'bad_request', `use POST for /api/rpc/${method}`, 405)
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendError(res, 'bad_request', 'Content-Type must be application/json', 415)
    }
    let params: unknown
    try {
      const text = await readBody(req)
      params = text.trim() === '' ? {} : (JSON.parse(text) as unknown)
    } catch (error) {
      if (error instanceof ApiError) return sendError(res, error.code, error.message, 413)
      return sendError(res, 'bad_request', `request body is not valid JSON: ${(error as Error).message}`)
    }
    try {
      sendJson(res, 200, { result: await options.handler(method, params) })
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError('internal', String(error))
      sendError(res, apiError.code, apiError.message)
    }
  }

  const serveStatic = (res: http.ServerResponse, pathname: string): void => {
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '')
    const file = path.resolve(rendererRoot, relative)
    if (!file.startsWith(rendererRoot + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return sendError(res, 'not_found', `no such file: ${pathname}`)
    }
    res.writeHead(200, {
      ...securityHeaders(port),
      'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'Cache-Control': relative === 'index.html' ? 'no-store' : 'private, max-age=3600'
    })
    fs.createReadStream(file).pipe(res)
  }

  const server = http.createServer((req, res) => {
    const refusal = trustedRequest(req)
    if (refusal) return sendError(res, 'unauthorized', refusal, 403)
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`)
    // The printed URL carries the token once; trade it for an HttpOnly cookie and drop it from the address bar.
    const offered = url.searchParams.get('token')
    if (req.method === 'GET' && url.pathname === '/' && offered !== null) {
      if (!sameToken(offered, token)) return sendError(res, 'unauthorized', 'wrong access token in the URL')
      res.writeHead(302, {
        ...securityHeaders(port),
        'Set-Cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: '/'
      })
      return void res.end()
    }
    if (!authorised(req)) {
      return sendError(res, 'unauthorized', 'missing or wrong access token: open the URL printed by "elle serve" (it contains ?token=...)')
    }
    if (url.pathname.startsWith('/api/rpc/')) return void handleApi(req, res, url.pathname.slice('/api/rpc/'.length))
    if (url.pathname.startsWith('/api/')) return sendError(res, 'not_found', `no API route ${url.pathname}`)
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 'bad_request', `method ${req.method} not allowed`, 405)
    serveStatic(res, url.pathname)
  })

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  const unsubscribe = options.events.subscribe((event) => {
    const message = JSON.stringify(event)
    for (const client of sockets.clients) if (client.readyState === client.OPEN) client.send(message)
  })
  const rejectUpgrade = (socket: Duplex, status: string, reason: string): void => {
    socket.write(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${reason}\n`)
    socket.destroy()
  }
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`)
    const refusal = trustedRequest(req)
    if (refusal) return rejectUpgrade(socket, '403 Forbidden', refusal)
    if (!authorised(req)) return rejectUpgrade(socket, '401 Unauthorized', 'missing or wrong access token')
    if (url.pathname !== '/api/events') return rejectUpgrade(socket, '404 Not Found', `no socket at ${url.pathname}`)
    sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      // The event channel is one-way; anything a client sends is ignored rather than trusted.
      ws.on('message', () => undefined)
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ServeError(error.code === 'EADDRINUSE' ? `port ${options.port} on ${host} is already in use; choose another with --port` : error.message))
    )
    server.listen(options.port ?? 0, host, resolve)
  })
  port = (server.address() as AddressInfo).port
  const shownHost = host.includes(':') ? `[${host}]` : host
  const url = `http://${shownHost}:${port}/`

  return {
    url,
    openUrl: `${url}?token=${token}`,
    port,
    token,
    close: async () => {
      unsubscribe()
      for (const client of sockets.clients) client.terminate()
      sockets.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
