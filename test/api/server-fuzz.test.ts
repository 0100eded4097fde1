// A few hundred malformed requests, upgrades, frames and headers, from a seeded generator, at a real
// `elle serve` child on loopback (the built bundle: run `node scripts/build.mjs` first). Whatever they get,
// the process must survive, close every connection, and then still answer a valid RPC and a valid socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { frame, rawExchange, startServeChild, statusOf, upgradeRequest, type ServeChild } from './serve-child'

const CASES = 400
const PARALLEL = 8
const SEED = 0x5eed9

let server: ServeChild
beforeAll(async () => {
  server = await startServeChild()
})
afterAll(() => server.stop())

/** mulberry32: a tiny seeded generator, so a failing case can be replayed. */
function generator(seed: number): { int(n: number): number; pick<T>(items: readonly T[]): T; bytes(n: number): Buffer } {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return { int, pick: (items) => items[int(items.length)]!, bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))) }
}

function cases(port: number, token: string): Array<{ name: string; bytes: Buffer }> {
  const g = generator(SEED)
  const ownHost = `127.0.0.1:${port}`
  const hosts = [ownHost, `localhost:${port}`, `[::1]:${port}`, 'a b', '', 'evil.example', `${ownHost}@evil`, '[::1', `127.0.0.1:${port}/x`, '%00', 'x'.repeat(20_000), null]
  const auths = [`Bearer ${token}`, `Bearer ${token}`, 'Bearer wrong', `Bearer ${token}x`, 'Basic Zm9vOmJhcg==', 'Bearer ', `Bearer ${'x'.repeat(5000)}`, null]
  const cookies = [null, `elle_token_${port}=${token}`, `elle_token_${port}=`, `=;;;=${token}`, `elle_token_${port}=${token}; elle_token_${port}=x`]
  const origins = [null, `http://${ownHost}`, 'http://evil.example', 'null', `http://localhost:${port + 1}`]
  const targets = [
    '/',
    '/?token=',
    `/?token=${token}`,
    '/?token=%',
    '/index.html',
    '/%E0%A4%A',
    '/%',
    '/%00',
    '/%2e%2e/%2e%2e/package.json',
    '/..%2F..%2Fpackage.json',
    '/assets/../../../etc/passwd',
    '//',
    '//evil.example/',
    '///',
    '/\\evil',
    '*',
    'http://evil.example/',
    `http://${ownHost}/`,
    '/api/',
    '/api/rpc/',
    '/api/rpc/runs.list',
    '/api/rpc/runs.get',
    '/api/rpc/system.info',
    '/api/rpc/%ZZ',
    '/api/rpc/__proto__',
    '/api/rpc/constructor',
    '/api/rpc/runs.list?x=%',
    '/api/events',
    `/${'a'.repeat(9000)}`,
    '/favicon.svg',
    '/%F0%9F%92%A9',
    ''
  ]
  const methods = ['GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'BREW', 'G ET', 'get', '']
  const types = [
    'application/json',
    'application/json; charset=utf-8',
    'application/jsonx',
    'application/json; charset=latin1',
    'APPLICATION/JSON',
    'text/plain',
    '',
    ';;;',
    'application/json;charset="utf-8"',
    null
  ]
  const bodies = [
    '',
    '{}',
    '{"status": ',
    'null',
    '[]',
    '"x"',
    '{"id": 1e999}',
    '{"id": -3}',
    '{"__proto__": {"x": 1}}',
    '\u0000',
    '['.repeat(5000),
    '{"ids": [1, 2, 3]}',
    'x'.repeat(70_000)
  ]

  const header = (name: string, value: string | null): string => (value === null ? '' : `${name}: ${value}\r\n`)
  // mostly the right Host and token, so that most requests get past the checks to the paths behind them
  const host = (): string | null => (g.int(10) < 7 ? ownHost : g.pick(hosts))
  const auth = (): string | null => (g.int(10) < 7 ? `Bearer ${token}` : g.pick(auths))
  const origin = (): string | null => (g.int(10) < 7 ? g.pick([null, `http://${ownHost}`]) : g.pick(origins))
  const httpCase = (): { name: string; bytes: Buffer } => {
    // half are well-framed calls that reach the API and static paths; the rest are malformed at the HTTP level too
    const framed = g.int(2) === 0
    const method = framed ? g.pick(['POST', 'POST', 'GET']) : g.pick(methods)
    const target = framed && g.int(3) > 0 ? g.pick(targets.filter((t) => t.startsWith('/api/rpc/'))) : g.pick(targets)
    const body = g.int(4) === 0 ? g.bytes(g.int(200)).toString('latin1') : g.pick(bodies)
    const framing = framed ? g.pick(['length', 'chunked'] as const) : g.pick(['length', 'none', 'chunked', 'bad-chunked', 'lies-long', 'lies-short', 'both', 'nonsense'] as const)
    const checks = framed
      ? `Host: ${ownHost}\r\nAuthorization: Bearer ${token}\r\n`
      : `${header('Host', host())}${header('Authorization', auth())}${header('Cookie', g.pick(cookies))}${header('Origin', origin())}`
    let head = `${method} ${target} HTTP/1.1\r\n${checks}${header('Content-Type', g.pick(types))}`
    if (!framed && g.int(4) === 0)
      head += g.pick(['X-Folded: a\r\n b\r\n', 'No colon here\r\n', `Host: ${ownHost}\r\n`, ':\r\n', 'X-Bin: \u0001\u007f\r\n', 'X-Many: 1\r\n'.repeat(3000)])
    const length = Buffer.byteLength(body, 'latin1')
    let rest: string
    if (framing === 'length') rest = `Content-Length: ${length}\r\n\r\n${body}`
    else if (framing === 'none') rest = `\r\n${body}`
    else if (framing === 'chunked') rest = `Transfer-Encoding: chunked\r\n\r\n${length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
    else if (framing === 'bad-chunked') rest = `Transfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n`
    else if (framing === 'lies-long') rest = `Content-Length: ${length + 1000}\r\n\r\n${body}`
    else if (framing === 'lies-short') rest = `Content-Length: ${Math.max(0, length - 3)}\r\n\r\n${body}`
    else if (framing === 'both') rest = `Content-Length: ${length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`
    else rest = `Content-Length: ${g.pick(['abc', '-1', '99999999999999999999', '1, 2', ''])}\r\n\r\n${body}`
    return { name: `http ${method} ${target.slice(0, 40)} ${framing}`, bytes: Buffer.from(head + rest, 'latin1') }
  }

  // thunks: only the frames a case picks are built
  const frames: Array<() => Buffer> = [
    () => frame(0x1, Buffer.from('hello')),
    () => frame(0x2, g.bytes(g.int(300))),
    () => frame(0x1, Buffer.from([0xc3, 0x28, 0xff, 0xfe])),
    () => frame(0x1, Buffer.from('no mask'), { mask: false }),
    () => frame(g.int(16), g.bytes(g.int(40))),
    () => frame(0x1, Buffer.from('rsv'), { rsv: 1 + g.int(7) }),
    () => frame(0x2, Buffer.alloc(10), { length: 2n ** 63n - 1n }),
    () => frame(0x2, Buffer.alloc(10), { length: 70_000n }),
    () => frame(0x2, g.bytes(70 * 1024)),
    () => frame(0x9, g.bytes(200)), // a control frame over 125 bytes
    () => frame(0x9, Buffer.from('ping'), { fin: false }), // a fragmented control frame
    () => frame(0x0, Buffer.from('continuation without a start')),
    () => Buffer.concat([frame(0x1, Buffer.from('part'), { fin: false }), frame(0x2, Buffer.from('wrong continuation'))]),
    () => frame(0x8, Buffer.from([0x03])), // a close payload of one byte
    () => frame(0x8, Buffer.from([0x00, 0x00])), // close code 0
    () => frame(0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from([0xff, 0xfe])])), // a reason that is not UTF-8
    () => frame(0xa, Buffer.from('unsolicited pong')),
    () => g.bytes(1 + g.int(64))
  ]
  const upgradeCase = (): { name: string; bytes: Buffer } => {
    const mutation = g.pick(['none', 'none', 'none', 'host', 'auth', 'origin', 'key', 'version', 'target', 'upgrade'] as const)
    const headers: Record<string, string | null> = { Authorization: `Bearer ${token}` }
    let target = '/api/events'
    if (mutation === 'host') headers.Host = g.pick(hosts)
    if (mutation === 'auth') headers.Authorization = g.pick(auths)
    if (mutation === 'origin') headers.Origin = g.pick(origins)
    if (mutation === 'key') headers['Sec-WebSocket-Key'] = g.pick([null, '', 'short', '!!!!!!!!!!!!!!!!!!!!!!!!'])
    if (mutation === 'version') headers['Sec-WebSocket-Version'] = g.pick([null, '8', '13, 8', 'x'])
    if (mutation === 'target') target = g.pick(['//', '/api/events?x=%', '/api/events/', '/api/events/..', '*', `http://${ownHost}/api/events`, '/%E0%A4%A', '//a b'])
    if (mutation === 'upgrade') headers.Upgrade = g.pick(['websocket2', '', 'h2c'])
    const after = Buffer.concat(Array.from({ length: 1 + g.int(3) }, () => g.pick(frames)()))
    return { name: `upgrade ${mutation}`, bytes: Buffer.concat([Buffer.from(upgradeRequest(port, headers, target), 'latin1'), after]) }
  }

  const garbageCase = (): { name: string; bytes: Buffer } => {
    const kind = g.int(3)
    if (kind === 0) return { name: 'random bytes', bytes: g.bytes(1 + g.int(2000)) }
    if (kind === 1) return { name: 'random request line', bytes: Buffer.concat([Buffer.from('GET /'), g.bytes(g.int(100)), Buffer.from(' HTTP/1.1\r\n\r\n')]) }
    return { name: 'unfinished headers', bytes: Buffer.from(`GET / HTTP/1.1\r\nHost: ${ownHost}\r\nX: ${'y'.repeat(g.int(30_000))}`) }
  }

  return Array.from({ length: CASES }, (_, i) => {
    const kind = i % 10
    return kind < 5 ? httpCase() : kind < 8 ? upgradeCase() : garbageCase()
  })
}

describe('the browser-mode server under fuzzed input', () => {
  it(`survives ${CASES} malformed requests, upgrades, frames and headers, then still serves`, async () => {
    const all = cases(server.port, server.token)
    const hung: string[] = []
    const internal: string[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < all.length) {
        const item = all[next++]!
        // A bound per case, not a pause: a connection still open after 5 s is itself a finding.
        const answer = await rawExchange(server.port, item.bytes, 5_000)
        if (answer === null) hung.push(item.name)
        else if (statusOf(answer) >= 500) internal.push(item.name)
      }
    }
    await Promise.all(Array.from({ length: PARALLEL }, worker))

    expect(hung).toEqual([])
    expect(await server.probe()).toBe(200)
    expect(internal).toEqual([]) // malformed input is the client's problem (4xx), never an internal error
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { Authorization: `Bearer ${server.token}` } })
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
    })
    socket.close()
  })
})
