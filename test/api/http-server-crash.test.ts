// Requests that used to kill the browser-mode server process. Each runs against a fresh `elle serve` child
// (the built bundle: run `node scripts/build.mjs` first), which must answer it and then go on serving.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { rawExchange, startServeChild, statusOf, upgradeRequest, type ServeChild } from './serve-child'

let server: ServeChild
beforeEach(async () => {
  server = await startServeChild()
})
afterEach(() => server.stop())

/** Opens an authenticated event socket, sends one message, and resolves with the close code the client sees. */
async function closeCodeAfterSending(data: Buffer, binary: boolean): Promise<number> {
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { Authorization: `Bearer ${server.token}` } })
  socket.on('error', () => undefined) // the close code is what we look at
  await new Promise((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('unexpected-response', () => reject(new Error('the event socket was refused')))
  })
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)))
  socket.send(data, { binary })
  return closed
}

describe('the browser-mode server process survives', () => {
  it('an unauthenticated upgrade with an invalid Host header: 403, checked before any URL is built', async () => {
    const answer = await rawExchange(server.port, upgradeRequest(server.port, { Host: 'a b' }))
    expect({ status: statusOf(answer), thenRpc: await server.probe() }).toEqual({ status: 403, thenRpc: 200 })
    expect(answer).toContain('unexpected Host header "a b"')
  })

  it('a malformed percent escape in a static path: 400 naming the problem', async () => {
    const request = `GET /%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${server.token}\r\nConnection: close\r\n\r\n`
    const answer = await rawExchange(server.port, request)
    expect({ status: statusOf(answer), thenRpc: await server.probe() }).toEqual({ status: 400, thenRpc: 200 })
    expect(answer).toContain('malformed percent escape in the path \\"/%E0%A4%A\\"')
  })

  it('a WebSocket message over the size limit: that socket closes with 1009', async () => {
    const code = await closeCodeAfterSending(Buffer.alloc(70 * 1024), true)
    expect({ code, thenRpc: await server.probe() }).toEqual({ code: 1009, thenRpc: 200 })
  })

  it('a text frame that is not valid UTF-8: that socket closes with 1007', async () => {
    const code = await closeCodeAfterSending(Buffer.from([0xc3, 0x28, 0xff]), false)
    expect({ code, thenRpc: await server.probe() }).toEqual({ code: 1007, thenRpc: 200 })
  })
})
