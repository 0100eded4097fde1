import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { rendererDir } from '../../src/main/app-root'
import type { ApiEvent } from '../../src/shared/contract'
import { createApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { EventBus } from '../../src/main/engine/events'
import { SERVER_LIMITS, startBrowserServer, type BrowserServer, type ServerLimits } from '../../src/main/transports/http/server'
import { tempEngine } from '../helpers/engine'

let engine: Engine
let server: BrowserServer

beforeAll(async () => {
  engine = await tempEngine()
  server = await startBrowserServer({ handler: createApiHandler(engine, 'browser'), events: engine.events, rendererDir: rendererDir(), port: 0 })
})
afterAll(async () => {
  await server.close()
  await engine.close()
})

const auth = () => ({ Authorization: `Bearer ${server.token}` })

async function rpc(method: string, body: unknown, headers: Record<string, string> = auth()): Promise<{ status: number; json: any }> {
  const response = await fetch(`${server.url}api/rpc/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  return { status: response.status, json: await response.json() }
}

/** An authenticated event socket once open, or the HTTP status that refused it. */
async function connectEvents(target: BrowserServer): Promise<WebSocket | number> {
  const socket = new WebSocket(`ws://127.0.0.1:${target.port}/api/events`, { headers: { Authorization: `Bearer ${target.token}` } })
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket))
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    socket.once('error', reject)
  })
}

/** A second server on the same engine with tighter limits (and its own event bus, when given). */
async function serverWith(limits: Partial<ServerLimits>, events = engine.events): Promise<BrowserServer> {
  return startBrowserServer({ handler: createApiHandler(engine, 'browser'), events, rendererDir: rendererDir(), port: 0, limits })
}

/** A raw request with a forged Host header (fetch will not let us set it). */
function rawGet(pathname: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: pathname, headers }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('browser-mode server', () => {
  it('listens on loopback only', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    await expect(startBrowserServer({ handler: createApiHandler(engine, 'browser'), events: engine.events, rendererDir: rendererDir(), host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /loopback only.*0\.0\.0\.0/
    )
  })

  it('refuses API calls, pages and assets without the token', async () => {
    const missing = await rpc('runs.list', {}, {})
    expect(missing.status).toBe(401)
    expect(missing.json.error.code).toBe('unauthorized')
    expect((await rpc('runs.list', {}, { Authorization: 'Bearer wrong' })).status).toBe(401)
    expect((await fetch(server.url)).status).toBe(401)
    expect((await fetch(`${server.url}?token=nope`, { redirect: 'manual' })).status).toBe(401)
  })

  it('trades the URL token for an HttpOnly cookie that then opens the page', async () => {
    const first = await fetch(server.openUrl, { redirect: 'manual' })
    expect(first.status).toBe(302)
    const cookie = first.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const page = await fetch(server.url, { headers: { Cookie: cookie.split(';')[0]! } })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await page.text()).toContain('<div id="app">')
  })

  it('rejects forged Host headers and foreign origins (DNS rebinding, CSRF)', async () => {
    expect(await rawGet('/', { Host: 'evil.example:80', Authorization: `Bearer ${server.token}` })).toBe(403)
    const crossSite = await rpc('runs.list', {}, { ...auth(), Origin: 'http://evil.example' })
    expect(crossSite.status).toBe(403)
  })

  it('refuses what another local page makes the browser send with our cookie, except following a link', async () => {
    const cookie = { Cookie: `elle_token_${server.port}=${server.token}`, Host: `127.0.0.1:${server.port}` }
    // <img src> or fetch(no-cors) from http://localhost:8888: same site, so the cookie goes along, but no Origin
    expect(await rawGet('/', { ...cookie, 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'no-cors' })).toBe(403)
    expect(await rawGet('/favicon.svg', { ...cookie, 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' })).toBe(403)
    expect(await rawGet('/', { ...cookie, 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'navigate' })).toBe(200)
    expect(await rawGet('/', { ...cookie, 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors' })).toBe(200)
    expect(await rawGet('/', { ...cookie, 'Sec-Fetch-Site': 'none', 'Sec-Fetch-Mode': 'navigate' })).toBe(200)
  })

  it('answers malformed requests with 4xx and the validation message, and keeps serving', async () => {
    const badJson = await rpc('runs.list', '{"status": ')
    expect(badJson.status).toBe(400)
    expect(badJson.json.error.message).toMatch(/not valid JSON/)
    const badField = await rpc('runs.get', { id: -3 })
    expect(badField.status).toBe(400)
    expect(badField.json.error.message).toMatch(/^runs\.get: id: /)
    const unknown = await rpc('runs.explode', {})
    expect(unknown.status).toBe(400)
    expect(unknown.json.error.message).toContain('unknown method')
    const missing = await rpc('runs.get', { id: 31337 })
    expect(missing.status).toBe(404)
    const wrongType = await fetch(`${server.url}api/rpc/runs.list`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'text/plain' }, body: '{}' })
    expect(wrongType.status).toBe(415)
    // still serving
    const ok = await rpc('runs.list', {})
    expect(ok.status).toBe(200)
    expect(Array.isArray(ok.json.result.runs)).toBe(true)
  })

  it('refuses path traversal out of the renderer folder', async () => {
    expect((await fetch(`${server.url}..%2F..%2Fpackage.json`, { headers: auth() })).status).toBe(404)
  })

  it('refuses WebSocket connections without the token and pushes events to those with it', async () => {
    const wsUrl = `ws://127.0.0.1:${server.port}/api/events`
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl)
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      socket.on('open', () => resolve(101))
      socket.on('error', () => undefined)
    })
    expect(refused).toBe(401)

    const socket = new WebSocket(wsUrl, { headers: auth() })
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
    })
    const received = new Promise<any>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))))
    const run = engine.createRun('pushed', { x: 1 })
    expect(await received).toEqual({ type: 'run.updated', run: expect.objectContaining({ id: run.id, status: 'queued' }) })
    socket.close()
  })

  it('answers a body over the limit with 413 and the JSON error before closing, declared or streamed', async () => {
    const message = `request body exceeds ${SERVER_LIMITS.bodyBytes} bytes`
    const declared = await rpc('runs.list', 'x'.repeat(10 << 20))
    expect(declared).toEqual({ status: 413, json: { error: { code: 'bad_request', message } } })
    const chunks = Array.from({ length: 10 }, () => new Uint8Array(1 << 20).fill(0x20))
    const body = new ReadableStream<Uint8Array>({ pull: (controller) => void (chunks.length ? controller.enqueue(chunks.pop()!) : controller.close()) })
    const streamed = await fetch(`${server.url}api/rpc/runs.list`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body,
      duplex: 'half'
    } as RequestInit)
    expect({ status: streamed.status, json: await streamed.json() }).toEqual({ status: 413, json: { error: { code: 'bad_request', message } } })
    expect((await rpc('runs.list', {})).status).toBe(200)
  })

  it('reads the Content-Type as a media type, not a prefix', async () => {
    const status = async (type: string) => (await rpc('runs.list', {}, { ...auth(), 'Content-Type': type })).status
    for (const type of ['application/jsonx', 'application/json-patch+json', 'application/json; charset=latin1']) expect(await status(type)).toBe(415)
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/json;charset="UTF-8"']) expect(await status(type)).toBe(200)
    const refused = await rpc('runs.list', {}, { ...auth(), 'Content-Type': 'application/jsonx' })
    expect(refused.json.error.message).toBe('Content-Type must be application/json, not "application/jsonx"')
  })

  it("names only its own socket in the page's CSP, in the header and in the page's meta tag", async () => {
    const page = await fetch(server.url, { headers: auth() })
    const own = `connect-src 'self' ws://127.0.0.1:${server.port} ws://localhost:${server.port};`
    expect(page.headers.get('content-security-policy')).toContain(own)
    const html = await page.text()
    expect(html).toContain(own)
    expect(html).not.toMatch(/:\*/)
  })

  it('closes an event socket whose client talks: the channel is one-way', async () => {
    const socket = await connectEvents(server)
    if (typeof socket === 'number') throw new Error(`event socket refused with ${socket}`)
    // the ping is answered only if the server is still listening after the message
    const outcome = new Promise<string>((resolve) => {
      socket.once('pong', () => resolve('pong'))
      socket.once('close', (code, reason) => resolve(`closed ${code} ${String(reason)}`))
    })
    socket.send('hello')
    socket.ping()
    expect(await outcome).toBe('closed 1008 the event channel is one-way')
  })

  it('refuses event sockets beyond the limit with 503', async () => {
    const small = await serverWith({ eventClients: 2 })
    try {
      const first = await connectEvents(small)
      const second = await connectEvents(small)
      expect(await connectEvents(small)).toBe(503)
      for (const socket of [first, second]) if (typeof socket !== 'number') socket.close()
    } finally {
      await small.close()
    }
  })

  it('drops an event socket that stops reading instead of buffering its backlog without bound', async () => {
    const events = new EventBus()
    const small = await serverWith({ socketBacklogBytes: 1 << 20 }, events)
    try {
      const socket = await connectEvents(small)
      if (typeof socket === 'number') throw new Error(`event socket refused with ${socket}`)
      socket.pause() // stops reading: the kernel buffers fill, then the server's queue grows
      const count = 64
      const big = { type: 'domains.changed', padding: 'x'.repeat(1 << 20) } as unknown as ApiEvent // 1 MB each
      for (let i = 0; i < count; i++) events.publish(big)
      let received = 0
      const outcome = new Promise<string>((resolve) => {
        socket.on('message', () => ++received === count && resolve('all received'))
        socket.once('close', (code) => resolve(`closed ${code}`))
      })
      socket.resume()
      expect(await outcome).toBe('closed 1006')
      expect(received).toBeLessThan(count)
    } finally {
      await small.close()
    }
  })
})
