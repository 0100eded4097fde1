// Browser mode: the same renderer and the same API contract over HTTP + WebSocket, for machines where
// Electron cannot run. Loopback only; every request and socket needs the access token.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { pipeline, type Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { ApiError, type ApiErrorBody, type ErrorCode } from '../../../shared/contract'
import { formatUploadBytes, UPLOAD_LIMITS, uploadPathProblem, type UploadLimits, type UploadProgress, type UploadStarted } from '../../../shared/uploads'
import type { ApiHandler, EventBus } from '../../engine/api/facade'

export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const
// Limits that keep one client from crashing or exhausting the process that serves the UI.
export const SERVER_LIMITS = {
  /** an RPC body; larger ones get 413 before the rest is read */
  bodyBytes: 1 << 20,
  /** the event socket is one-way: any message closes it, and a big frame is refused before it is buffered */
  socketMessageBytes: 4 * 1024,
  /** open event sockets (one per browser tab); more get 503 */
  eventClients: 32,
  /** unsent events queued for one socket; a client that stops reading is dropped rather than buffered forever */
  socketBacklogBytes: 4 << 20,
  /** TCP connections at once; more are closed on accept (each costs a file descriptor) */
  connections: 256
}
export type ServerLimits = typeof SERVER_LIMITS
// Requests are parsed against a constant base: the Host header is checked, never used to build a URL.
const URL_BASE = 'http://localhost'

const STATUS_BY_CODE: Record<ErrorCode, number> = { bad_request: 400, unauthorized: 401, not_found: 404, conflict: 409, unavailable: 503, internal: 500 }

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
  /** tighter limits (tests); SERVER_LIMITS otherwise */
  limits?: Partial<ServerLimits>
  /**
   * where uploaded corpora are staged (a folder under the data directory); absent: no uploads. Each upload is a
   * folder here that the domain then reads from, so a domain made from it keeps its files.
   */
  uploadDir?: string
  /** tighter upload limits (tests); UPLOAD_LIMITS otherwise */
  uploadLimits?: Partial<UploadLimits>
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
class BodyTooLarge extends Error {}

/** Echoed request parts are cut short: an error message is one readable line, not a copy of the attack. */
const clip = (text: string): string => (text.length > 80 ? `${text.slice(0, 80)}...` : text)

/** The request target as a URL, or null: origin-form ("/path?query") only, resolved against a constant base. */
function requestUrl(target: string | undefined): URL | null {
  if (!target?.startsWith('/')) return null
  try {
    return new URL(URL_BASE + target) // concatenated, not resolved: "//x" stays a path instead of becoming host x
  } catch {
    return null
  }
}

/** Why a Content-Type is not JSON we can read, or null: the media type itself must match, not a prefix of it. */
function jsonContentTypeProblem(header: string | undefined): string | null {
  const [type = '', ...parameters] = (header ?? '').split(';')
  if (type.trim().toLowerCase() !== 'application/json') return `Content-Type must be application/json, not ${JSON.stringify(clip(header ?? ''))}`
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=')
    const charset = value
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase()
    if (name.trim().toLowerCase() === 'charset' && charset !== 'utf-8' && charset !== 'utf8')
      return `request bodies are read as UTF-8; charset ${JSON.stringify(clip(charset))} is not supported`
  }
  return null
}

export function assertLoopback(host: string): void {
  if (!(LOOPBACK_HOSTS as readonly string[]).includes(host)) {
    throw new ServeError(`browser mode listens on loopback only (${LOOPBACK_HOSTS.join(', ')}); refusing host "${host}"`)
  }
}

/** This server's event socket and no other port: older browsers do not count ws: as 'self'. CSP host sources cannot be IPv6 literals, so only the IPv4 and name forms are listed. */
const socketSources = (port: number): string => [`ws://127.0.0.1:${port}`, `ws://localhost:${port}`].join(' ')

function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' ${socketSources(port)}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`,
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
  const limits: ServerLimits = { ...SERVER_LIMITS, ...options.limits }

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
    if (!allowedHosts().has(req.headers.host ?? '')) return `unexpected Host header ${JSON.stringify(clip(req.headers.host ?? ''))}`
    const origin = req.headers.origin
    if (origin !== undefined && !allowedOrigins().has(origin)) return `cross-origin request from ${JSON.stringify(clip(origin))} refused`
    // A page on another loopback port is the same *site*, so the SameSite=Strict cookie rides along on its no-cors
    // requests, which carry no Origin. Browsers mark them with Sec-Fetch-Site: only a top-level navigation may come from elsewhere.
    const site = req.headers['sec-fetch-site']
    const navigation = req.method === 'GET' && req.headers['sec-fetch-mode'] === 'navigate'
    if (site !== undefined && site !== 'same-origin' && site !== 'none' && !navigation) return `${clip(site)} request refused (Sec-Fetch-Site)`
    return null
  }

  const sendJson = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { ...securityHeaders(port), 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers })
    res.end(JSON.stringify(body))
  }
  const sendError = (res: http.ServerResponse, code: ErrorCode, message: string, status = STATUS_BY_CODE[code], headers: Record<string, string> = {}): void => {
    const body: ApiErrorBody = { error: { code, message } }
    sendJson(res, status, body, headers)
  }
  // Whatever goes wrong inside a handler ends this response only, never the process.
  const failed = (res: http.ServerResponse, error: unknown): void => {
    if (res.headersSent) return void res.destroy()
    try {
      sendError(res, 'internal', `internal server error: ${error instanceof Error ? error.message : String(error)}`)
    } catch {
      res.destroy()
    }
  }

  const readBody = (req: http.IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const tooLarge = () => new BodyTooLarge(`request body exceeds ${limits.bodyBytes} bytes`)
      if (Number(req.headers['content-length']) > limits.bodyBytes) return reject(tooLarge())
      const chunks: Buffer[] = []
      let size = 0
      const collect = (chunk: Buffer): void => {
        size += chunk.length
        if (size <= limits.bodyBytes) return void chunks.push(chunk)
        // Stop keeping the body but let the socket live until the 413 is written (Connection: close ends it).
        req.removeListener('data', collect)
        reject(tooLarge())
      }
      req.on('data', collect)
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      req.on('error', reject)
    })

  const handleApi = async (req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> => {
    if (req.method !== 'POST') return sendError(res, 'bad_request', `use POST for /api/rpc/${method}`, 405)
    const typeProblem = jsonContentTypeProblem(req.headers['content-type'])
    if (typeProblem) return sendError(res, 'bad_request', typeProblem, 415)
    let params: unknown
    try {
      const text = await readBody(req)
      params = text.trim() === '' ? {} : (JSON.parse(text) as unknown)
    } catch (error) {
      if (error instanceof BodyTooLarge) return sendError(res, 'bad_request', error.message, 413, { Connection: 'close' })
      return sendError(res, 'bad_request', `request body is not valid JSON: ${(error as Error).message}`)
    }
    try {
      sendJson(res, 200, { result: await options.handler(method, params) })
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError('internal', String(error))
      sendError(res, apiError.code, apiError.message)
    }
  }

  // ---- uploads: transport plumbing only; the domain is made by the contract's domains.addJob ----------------
  const uploadLimits: UploadLimits = { ...UPLOAD_LIMITS, ...options.uploadLimits }
  const uploads = new Map<string, { dir: string; files: number; bytes: number; busy: boolean }>()
  const dropUpload = (id: string): void => {
    const upload = uploads.get(id)
    uploads.delete(id)
    if (upload) fs.rmSync(upload.dir, { recursive: true, force: true })
  }
  /** 413 for an upload over a limit: the whole upload is removed, so no partial corpus is left to be read. */
  const uploadTooLarge = (res: http.ServerResponse, id: string, message: string): void => {
    dropUpload(id)
    sendError(res, 'bad_request', `${message}; the upload was removed`, 413, { Connection: 'close' })
  }
  const handleUpload = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    if (!options.uploadDir) return sendError(res, 'not_found', 'this server takes no uploads')
    const root = path.resolve(options.uploadDir)
    if (url.pathname === '/api/uploads') {
      if (req.method !== 'POST') return sendError(res, 'bad_request', 'use POST /api/uploads to start an upload', 405)
      const id = randomUUID()
      const dir = path.join(root, id)
      fs.mkdirSync(dir, { recursive: true })
      uploads.set(id, { dir, files: 0, bytes: 0, busy: false })
      const started: UploadStarted = { id, path: dir, limits: uploadLimits }
      return sendJson(res, 201, started)
    }
    const id = url.pathname.slice('/api/uploads/'.length)
    const upload = uploads.get(id)
    if (!upload) return sendError(res, 'not_found', `no upload ${JSON.stringify(clip(id))} in progress (start one with POST /api/uploads)`)
    if (req.method === 'DELETE') {
      dropUpload(id)
      return sendJson(res, 200, { removed: true })
    }
    if (req.method !== 'PUT') return sendError(res, 'bad_request', `use PUT /api/uploads/${id}?path=REL for a file, DELETE to remove the upload`, 405)
    const rel = url.searchParams.get('path') ?? ''
    const problem = uploadPathProblem(rel, uploadLimits.pathChars)
    if (problem) return sendError(res, 'bad_request', problem)
    if (upload.busy) return sendError(res, 'conflict', 'send the files of one upload one at a time')
    const name = JSON.stringify(clip(rel))
    if (upload.files + 1 > uploadLimits.files) return uploadTooLarge(res, id, `an upload holds at most ${uploadLimits.files} files`)
    const declared = Number(req.headers['content-length'])
    if (declared > uploadLimits.fileBytes)
      return uploadTooLarge(res, id, `${name} is ${declared.toLocaleString('en')} bytes, over the ${formatUploadBytes(uploadLimits.fileBytes)} limit per file`)
    if (upload.bytes + (declared || 0) > uploadLimits.totalBytes)
      return uploadTooLarge(res, id, `${name} would bring the upload over its ${formatUploadBytes(uploadLimits.totalBytes)} limit`)
    const file = path.join(upload.dir, ...rel.split('/'))
    if (!file.startsWith(upload.dir + path.sep)) return sendError(res, 'bad_request', `${name} is outside the upload`)
    if (fs.existsSync(file)) return sendError(res, 'conflict', `${name} was already uploaded`)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    upload.busy = true
    let size = 0
    let over: string | null = null
    // Counted as it streams: a body without (or with a false) Content-Length stops at the limit all the same. On a
    // refusal the rest of the body is read and dropped, so the 413 can be written before the connection closes.
    const out = fs.createWriteStream(file, { flags: 'wx' })
    const arrived = await new Promise<boolean>((resolve) => {
      let settled = false
      const settle = (value: boolean): void => {
        if (settled) return
        settled = true
        req.removeListener('data', onData)
        if (!value) {
          out.destroy()
          req.resume()
        }
        resolve(value)
      }
      const onData = (chunk: Buffer): void => {
        size += chunk.length
        if (size > uploadLimits.fileBytes) over = `${name} is over the ${formatUploadBytes(uploadLimits.fileBytes)} limit per file`
        else if (upload.bytes + size > uploadLimits.totalBytes) over = `${name} brings the upload over its ${formatUploadBytes(uploadLimits.totalBytes)} limit`
        if (over) return settle(false)
        if (!out.write(chunk)) {
          req.pause()
          out.once('drain', () => req.resume())
        }
      }
      req.on('data', onData)
      req.on('end', () => out.end(() => settle(true)))
      req.on('error', () => settle(false))
      req.on('aborted', () => settle(false))
      out.on('error', () => settle(false))
    })
    upload.busy = false
    if (over) return uploadTooLarge(res, id, over)
    if (!arrived) {
      dropUpload(id)
      return sendError(res, 'bad_request', `${name} did not arrive whole; the upload was removed`)
    }
    upload.files++
    upload.bytes += size
    const progress: UploadProgress = { files: upload.files, bytes: upload.bytes }
    return sendJson(res, 200, progress)
  }

  const serveStatic = (res: http.ServerResponse, pathname: string): void => {
    let relative: string
    try {
      relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '')
    } catch {
      return sendError(res, 'bad_request', `malformed percent escape in the path ${JSON.stringify(clip(pathname))}`)
    }
    const file = path.resolve(rendererRoot, relative)
    if (relative.includes('\0') || !file.startsWith(rendererRoot + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return sendError(res, 'not_found', `no such file: ${clip(pathname)}`)
    }
    if (relative === 'index.html') {
      // The page's own CSP (a meta tag, shared with Electron) allows connections to 'self' only; name this server's socket in it.
      return void fs.promises.readFile(file, 'utf8').then(
        (html) => {
          res.writeHead(200, { ...securityHeaders(port), 'Content-Type': MIME['.html']!, 'Cache-Control': 'no-store' })
          res.end(html.replace("connect-src 'self';", `connect-src 'self' ${socketSources(port)};`))
        },
        (error: unknown) => failed(res, error)
      )
    }
    res.writeHead(200, { ...securityHeaders(port), 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'private, max-age=3600' })
    // pipeline, not pipe: a read error ends this response instead of surfacing as an unhandled 'error'.
    pipeline(fs.createReadStream(file), res, () => undefined)
  }

  const route = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const refusal = trustedRequest(req)
    if (refusal) return sendError(res, 'unauthorized', refusal, 403)
    const url = requestUrl(req.url)
    if (!url) return sendError(res, 'bad_request', `malformed request target ${JSON.stringify(clip(req.url ?? ''))}`)
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
    if (url.pathname.startsWith('/api/rpc/')) return void handleApi(req, res, url.pathname.slice('/api/rpc/'.length)).catch((error: unknown) => failed(res, error))
    if (url.pathname === '/api/uploads' || url.pathname.startsWith('/api/uploads/')) return void handleUpload(req, res, url).catch((error: unknown) => failed(res, error))
    if (url.pathname.startsWith('/api/')) return sendError(res, 'not_found', `no API route ${clip(url.pathname)}`)
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 'bad_request', `method ${req.method} not allowed`, 405)
    serveStatic(res, url.pathname)
  }

  // headersTimeout/requestTimeout: a client that trickles its request in does not hold a connection for minutes.
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    try {
      route(req, res)
    } catch (error) {
      failed(res, error)
    }
  })
  server.maxConnections = limits.connections

  const sockets = new WebSocketServer({ noServer: true, maxPayload: limits.socketMessageBytes })
  const unsubscribe = options.events.subscribe((event) => {
    const message = JSON.stringify(event)
    for (const client of sockets.clients) {
      if (client.readyState !== client.OPEN) continue
      if (client.bufferedAmount > limits.socketBacklogBytes) client.terminate()
      else client.send(message)
    }
  })
  const rejectUpgrade = (socket: Duplex, status: string, reason: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${reason}\n`, () => socket.destroy())
  }
  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refusal = trustedRequest(req)
    if (refusal) return rejectUpgrade(socket, '403 Forbidden', refusal)
    if (!authorised(req)) return rejectUpgrade(socket, '401 Unauthorized', 'missing or wrong access token')
    const url = requestUrl(req.url)
    if (url?.pathname !== '/api/events') return rejectUpgrade(socket, '404 Not Found', `no socket at ${JSON.stringify(clip(req.url ?? ''))}`)
    if (sockets.clients.size >= limits.eventClients) return rejectUpgrade(socket, '503 Service Unavailable', `too many event sockets (${limits.eventClients})`)
    sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      // A frame too large, invalid UTF-8 or a reset arrives as 'error' after ws has begun closing this socket with
      // the matching status (1009, 1007, ...); without a listener it would be thrown and end the process.
      ws.on('error', () => undefined)
      // The event channel is one-way: a client that talks is misbehaving and is let go.
      ws.on('message', () => ws.close(1008, 'the event channel is one-way'))
    })
  }
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands over the raw socket without its error listener; a reset before ws takes over must not crash us.
    socket.on('error', () => socket.destroy())
    try {
      upgrade(req, socket, head)
    } catch {
      socket.destroy()
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ServeError(error.code === 'EADDRINUSE' ? `port ${options.port} on ${host} is already in use; choose another with --port` : error.message))
    )
    server.listen(options.port ?? 0, host, resolve)
  })
  port = (server.address() as AddressInfo).port
  // Accept failures (EMFILE) arrive as 'error' on a listening server: report them, keep serving.
  server.on('error', (error) => console.error(`browser-mode server: ${error.message}`))
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
