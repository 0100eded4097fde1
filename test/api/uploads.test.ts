// Browser-mode uploads (issue 13): files streamed into a staging folder under the data directory, token-checked,
// size-limited server-side (413, the partial upload removed), then made a domain by the contract's domains.addJob.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rendererDir } from '../../src/main/app-root'
import { createApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import { startBrowserServer, type BrowserServer } from '../../src/main/transports/http/server'
import type { UploadStarted } from '../../src/shared/uploads'
import { tempEngine } from '../helpers/engine'
import { tempDir } from '../helpers/tmp'

let engine: Engine
let server: BrowserServer
const uploadDir = path.join(tempDir(), 'uploads')
const LIMITS = { fileBytes: 2000, totalBytes: 5000, files: 6 }

beforeAll(async () => {
  engine = await tempEngine()
  server = await startBrowserServer({ handler: createApiHandler(engine, 'browser'), events: engine.events, rendererDir: rendererDir(), port: 0, uploadDir, uploadLimits: LIMITS })
})
afterAll(async () => {
  await server?.close()
  await engine?.close()
})

const auth = () => ({ Authorization: `Bearer ${server.token}` })
const note = (i: number) => `Note ${i}: the heron waited by the reeds until the water cleared. `.repeat(15)

async function start(): Promise<UploadStarted> {
  const response = await fetch(`${server.url}api/uploads`, { method: 'POST', headers: auth() })
  expect(response.status).toBe(201)
  return (await response.json()) as UploadStarted
}
async function put(id: string, rel: string, body: string | Buffer): Promise<{ status: number; json: any }> {
  const response = await fetch(`${server.url}api/uploads/${id}?path=${encodeURIComponent(rel)}`, { method: 'PUT', headers: auth(), body })
  return { status: response.status, json: await response.json() }
}
async function rpc(method: string, params: unknown): Promise<any> {
  const response = await fetch(`${server.url}api/rpc/${method}`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify(params) })
  return response.json()
}
async function jobEnd(id: number): Promise<{ status: string; error: string | null }> {
  for (;;) {
    const job = (await rpc('jobs.get', { id })).result as { status: string; error: string | null }
    if (!['queued', 'running'].includes(job.status)) return job
    await new Promise((r) => setTimeout(r, 100))
  }
}
/** A chunked PUT (no Content-Length) of `total` bytes: the limit must hold while the body streams. */
function chunkedPut(id: string, rel: string, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method: 'PUT', path: `/api/uploads/${id}?path=${encodeURIComponent(rel)}`, headers: auth() }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    for (let sent = 0; sent < total; sent += 500) req.write('a'.repeat(500))
    req.end()
  })
}

describe('uploads in browser mode', () => {
  it('stages a folder of files and makes it a domain through domains.addJob', async () => {
    const upload = await start()
    expect(upload.path.startsWith(uploadDir + path.sep)).toBe(true)
    expect(upload.limits).toMatchObject(LIMITS)
    for (let i = 0; i < 4; i++) expect((await put(upload.id, `notes/part ${i % 2}/n${i}.txt`, note(i))).status).toBe(200)
    expect((await put(upload.id, 'notes/part 0/n0.txt', 'again')).status).toBe(409)
    const job = (await rpc('domains.addJob', { name: 'uploaded-notes', paths: [upload.path] })).result as { id: number }
    expect(await jobEnd(job.id)).toMatchObject({ status: 'finished', error: null })
    const detail = (await rpc('domains.get', { name: 'uploaded-notes' })).result
    expect(detail).toMatchObject({ files: 4, documents: 4, source: { paths: [upload.path] } })
    expect(detail.preview[0].id).toBe('notes/part 0/n0.txt')
  })

  it('refuses requests without the token, bad paths and unknown uploads, changing nothing', async () => {
    expect((await fetch(`${server.url}api/uploads`, { method: 'POST' })).status).toBe(401)
    const upload = await start()
    expect((await fetch(`${server.url}api/uploads/${upload.id}?path=a.txt`, { method: 'PUT', body: 'x' })).status).toBe(401)
    for (const rel of ['../escape.txt', '/abs.txt', 'a//b.txt', '.hidden', 'c:\\x.txt', '']) {
      const refused = await put(upload.id, rel, 'text')
      expect(refused.status, rel).toBe(400)
    }
    expect(fs.readdirSync(upload.path)).toEqual([])
    expect((await put('nope', 'a.txt', 'x')).status).toBe(404)
    // a server started without an upload folder takes none
    const bare = await startBrowserServer({ handler: createApiHandler(engine, 'browser'), events: engine.events, rendererDir: rendererDir(), port: 0 })
    try {
      const refused = await fetch(`${bare.url}api/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${bare.token}` } })
      expect(refused.status).toBe(404)
    } finally {
      await bare.close()
    }
    expect((await fetch(`${server.url}api/uploads/${upload.id}`, { method: 'DELETE', headers: auth() })).status).toBe(200)
    expect(fs.existsSync(upload.path)).toBe(false)
  })

  it('answers 413 naming the limit and removes the partial upload: one file too large, streamed or declared, or too much in all', async () => {
    const declared = await start()
    expect((await put(declared.id, 'ok.txt', note(1))).status).toBe(200)
    const big = await put(declared.id, 'big.txt', 'b'.repeat(LIMITS.fileBytes + 1))
    expect(big).toMatchObject({ status: 413, json: { error: { message: '"big.txt" is 2,001 bytes, over the 2,000 bytes limit per file; the upload was removed' } } })
    expect(fs.existsSync(declared.path)).toBe(false)
    expect((await put(declared.id, 'late.txt', 'x')).status).toBe(404)

    const streamed = await start()
    const chunked = await chunkedPut(streamed.id, 'stream.txt', 3000)
    expect(chunked.status).toBe(413)
    expect(chunked.body).toContain('over the 2,000 bytes limit per file')
    expect(fs.existsSync(streamed.path)).toBe(false)

    const total = await start()
    for (const i of [0, 1, 2]) expect((await put(total.id, `t${i}.txt`, 'c'.repeat(1500))).status).toBe(200)
    const over = await put(total.id, 't3.txt', 'c'.repeat(1500))
    expect(over.status).toBe(413)
    expect(over.json.error.message).toContain('over its 5,000 bytes limit')
    expect(fs.existsSync(total.path)).toBe(false)
  })

  it('a binary upload fails the job with the file named, and no domain is left behind', async () => {
    const upload = await start()
    expect((await put(upload.id, 'blob.txt', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x81, 0x00, 0x00]))).status).toBe(200)
    const before = (await rpc('domains.list', {})).result.domains.length
    const job = (await rpc('domains.addJob', { name: 'binary-upload', paths: [upload.path] })).result as { id: number }
    const ended = await jobEnd(job.id)
    expect(ended.status).toBe('failed')
    expect(ended.error).toContain('blob.txt')
    expect((await rpc('domains.list', {})).result.domains).toHaveLength(before)
  })
})
