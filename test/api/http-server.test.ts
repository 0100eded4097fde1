import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { rendererDir } from '../../src/main/app-root'
import { createApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { startBrowserServer, type BrowserServer } from '../../src/main/transports/http/server'
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
    await expect(
      startBrowserServer({ handler: createApiHandler(engine, 'browser'), events: engine.events, rendererDir: rendererDir(), host: '0.0.0.0', port: 0 })
    ).rejects.toThrow(/loopback only.*0\.0\.0\.0/)
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
})
