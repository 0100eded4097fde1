// Browser mode as users run it (`elle serve`, the built bundle) in a child process, so a test sees whether a
// request kills the process that serves the UI, and raw TCP clients for what fetch and ws refuse to send.
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { inject } from 'vitest'
import { tempDir } from '../helpers/tmp'

export interface ServeChild {
  port: number
  token: string
  /** one valid authenticated RPC: its status, or the reason it got none (with the child's stderr if it died) */
  probe(): Promise<number | string>
  stop(): Promise<void>
}

export async function startServeChild(): Promise<ServeChild> {
  const db = path.join(tempDir(), 'serve.sqlite')
  const child = spawn(process.execPath, [path.resolve('bin/elle.mjs'), 'serve', '--port', '0', '--json', '--db', db], {
    env: { ...process.env, ELLE_BACKEND: 'cpu', ELLE_DATA_DIR: inject('dataDir') },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const line = await new Promise<string>((resolve, reject) => {
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!)
    })
    child.once('exit', (code) => reject(new Error(`elle serve exited with ${code} before it was ready: ${stderr}`)))
  })
  const { url, port } = JSON.parse(line) as { url: string; port: number }
  const token = new URL(url).searchParams.get('token') ?? ''
  return {
    port,
    token,
    probe: async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/api/rpc/runs.list`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: '{}'
        })
        await response.text()
        return response.status
      } catch (error) {
        // a dead server refuses the connection before its exit is reported, so its stderr is the evidence
        const thrown = stderr.split('\n').find((line) => /^\w*Error\b/.test(line.trim())) ?? stderr.slice(-300)
        return `no answer (${String((error as Error).cause ?? error)}); elle serve's stderr: ${thrown}`
      }
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    }
  }
}

/**
 * Writes raw bytes, half-closes, and collects whatever comes back until the server closes the connection;
 * with `boundMs`, a connection the server still holds open after that long is cut and reported as null.
 */
export function rawExchange(port: number, bytes: Buffer | string): Promise<string>
export function rawExchange(port: number, bytes: Buffer | string, boundMs: number): Promise<string | null>
export function rawExchange(port: number, bytes: Buffer | string, boundMs?: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let held = false
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end(bytes))
    const bound = boundMs === undefined ? undefined : setTimeout(() => ((held = true), socket.destroy()), boundMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => undefined) // a reset is an answer too: the caller looks at what arrived
    socket.on('close', () => {
      clearTimeout(bound)
      resolve(held ? null : Buffer.concat(chunks).toString('latin1'))
    })
  })
}

/** The status code of the first HTTP response in `text`, or 0 if there is none. */
export const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)

/** A client WebSocket frame (masked, as clients must send): FIN set unless `fin` is false. */
export function frame(
  opcode: number,
  payload: Buffer,
  { fin = true, rsv = 0, mask = true, length }: { fin?: boolean; rsv?: number; mask?: boolean; length?: bigint } = {}
): Buffer {
  const declared = length ?? BigInt(payload.length)
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
  let extended = Buffer.alloc(0)
  if (declared < 126n) head.push((mask ? 0x80 : 0) | Number(declared))
  else if (declared < 65536n) {
    head.push((mask ? 0x80 : 0) | 126)
    extended = Buffer.alloc(2)
    extended.writeUInt16BE(Number(declared))
  } else {
    head.push((mask ? 0x80 : 0) | 127)
    extended = Buffer.alloc(8)
    extended.writeBigUInt64BE(declared)
  }
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78])
  const body = mask ? Buffer.from(payload.map((b, i) => b ^ key[i % 4]!)) : payload
  return Buffer.concat([Buffer.from(head), extended, mask ? key : Buffer.alloc(0), body])
}

/** An upgrade request for the event socket; `headers` replace or add to the valid ones (null drops one). */
export function upgradeRequest(port: number, headers: Record<string, string | null> = {}, target = '/api/events'): string {
  const all: Record<string, string | null> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...headers
  }
  const lines = Object.entries(all).flatMap(([name, value]) => (value === null ? [] : [`${name}: ${value}`]))
  return `GET ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`
}
