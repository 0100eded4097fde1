/**
 * Reading and validating a domain's corpus: text files, folders of text files (recursive), or JSONL.
 * Every problem a user can fix is a DataError naming the file (and line / field for JSONL).
 */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { DataError } from './errors'
import { sha256 } from './hash'

export interface CorpusSource {
  /** Files and/or folders. Folders are walked recursively. */
  paths: string[]
  /** 'auto' (default): .jsonl/.ndjson files are JSONL, everything else plain text. */
  format?: 'auto' | 'text' | 'jsonl'
  /** JSONL field holding the document text. Default "text". */
  textField?: string
  /** Optional JSONL field holding a document id (else `<file>:<line>`). */
  idField?: string
  /** Optional JSONL field holding a label (used for stratified splits and tasks). */
  labelField?: string
  /** Largest file read, in bytes (default DEFAULT_MAX_FILE_BYTES, or the ELLE_CORPUS_MAX_FILE_BYTES env variable). */
  maxFileBytes?: number
  /** Largest corpus read, all files together, in bytes (default DEFAULT_MAX_DOMAIN_BYTES, or ELLE_CORPUS_MAX_DOMAIN_BYTES). */
  maxDomainBytes?: number
}

export interface DomainSpec {
  /** Short slug, e.g. "press". */
  name: string
  corpus: CorpusSource
}

export interface Document {
  /** Stable id: relative file path for text files, `<relative file>:<line>` or the idField for JSONL. */
  id: string
  text: string
  label?: string
  /** Where it came from, for error messages. */
  source: string
}

export interface Corpus {
  documents: Document[]
  /** sha256 over file names (relative) and contents: the cache key's corpus half. */
  hash: string
  files: string[]
  /** Files in folders that were skipped: not text (e.g. images), links, FIFOs, sockets, devices. */
  skippedFiles: string[]
  /** The same, with why each was skipped. */
  skipped: SkippedFile[]
  /** Per file, in reading order: what was read (so callers need not read the files again). */
  fileInfo: CorpusFileInfo[]
}

export interface CorpusFileInfo {
  file: string
  /** The file's name in document ids and the corpus hash. */
  rel: string
  sha256: string
  bytes: number
}

const TEXT_EXTS = new Set(['.txt', '.md', '.text', '.markdown', '.rst'])
const JSONL_EXTS = new Set(['.jsonl', '.ndjson'])
/** Share of control characters above which a file counts as binary. */
const CONTROL_RATIO = 0.1
/** Characters at the start of a file the control-character ratio is measured on. */
const CONTROL_HEAD = 1 << 16
/** Bytes read at a time: files are streamed, never read whole into one buffer. */
const CHUNK_BYTES = 1 << 20

/** Default caps on what one corpus may read into memory (a domain's documents are held while tokenizing). */
export const DEFAULT_MAX_FILE_BYTES = 256 * 2 ** 20
export const DEFAULT_MAX_DOMAIN_BYTES = 2 * 2 ** 30
/** Environment variables that change the defaults (bytes); a CorpusSource's own caps win over them. */
export const MAX_FILE_BYTES_ENV = 'ELLE_CORPUS_MAX_FILE_BYTES'
export const MAX_DOMAIN_BYTES_ENV = 'ELLE_CORPUS_MAX_DOMAIN_BYTES'

export interface CorpusLimits {
  maxFileBytes: number
  maxDomainBytes: number
}

function limitFrom(value: number | string | undefined, what: string): number | undefined {
  if (value === undefined || value === '') return undefined
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new DataError('BAD_OPTION', `${what} must be a positive whole number of bytes, got ${JSON.stringify(value)}`)
  return n
}

/** The caps that apply to a corpus: its own, else the environment's, else the defaults. */
export function corpusLimits(src: Pick<CorpusSource, 'maxFileBytes' | 'maxDomainBytes'> = {}, env: NodeJS.ProcessEnv = process.env): CorpusLimits {
  return {
    maxFileBytes: limitFrom(src.maxFileBytes, 'maxFileBytes') ?? limitFrom(env[MAX_FILE_BYTES_ENV], MAX_FILE_BYTES_ENV) ?? DEFAULT_MAX_FILE_BYTES,
    maxDomainBytes: limitFrom(src.maxDomainBytes, 'maxDomainBytes') ?? limitFrom(env[MAX_DOMAIN_BYTES_ENV], MAX_DOMAIN_BYTES_ENV) ?? DEFAULT_MAX_DOMAIN_BYTES
  }
}

/** Human-readable byte count for messages. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]} (${n} bytes)`
}

function fileTooLarge(file: string, size: number, cap: number): DataError {
  return new DataError(
    'TOO_LARGE',
    `corpus file ${file} is ${formatBytes(size)}, over the per-file limit of ${formatBytes(cap)} (raise it with maxFileBytes or ${MAX_FILE_BYTES_ENV})`,
    { file }
  )
}

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  if (st.isDirectory()) return 'a folder'
  return 'not a file'
}

function notRegular(file: string, st: fs.Stats): DataError {
  return new DataError('NOT_REGULAR', `corpus path ${file} is not a regular file (it is ${kindOf(st)}); only regular files and folders can be read`, { file })
}

/** stat() following symlinks; a missing path (or a dangling link) is NOT_FOUND. */
function statPath(p: string): fs.Stats {
  try {
    return fs.statSync(p)
  } catch {
    throw new DataError('NOT_FOUND', `corpus path not found: ${p}`, { file: p })
  }
}

// O_NONBLOCK: should the path have been swapped for a FIFO after the stat, open() still returns at once
// (and the fstat below refuses it) instead of waiting forever for a writer. Windows has no such flag.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0)

/** Open a path for reading only if it is a regular file: FIFOs, sockets and devices are never opened. */
function openRegular(file: string): { fd: number; size: number } {
  const st = statPath(file)
  if (!st.isFile()) throw notRegular(file, st)
  let fd: number
  try {
    fd = fs.openSync(file, OPEN_FLAGS)
  } catch {
    throw new DataError('NOT_FOUND', `corpus file not found or unreadable: ${file}`, { file })
  }
  const now = fs.fstatSync(fd)
  if (!now.isFile()) {
    fs.closeSync(fd)
    throw notRegular(file, now)
  }
  return { fd, size: now.size }
}

type TextProblem = 'EMPTY_FILE' | 'BINARY_FILE' | 'INVALID_UTF8'

const PROBLEM_TEXT: Record<TextProblem, string> = {
  EMPTY_FILE: 'is empty',
  BINARY_FILE: 'looks binary (NUL bytes or many control characters), not text',
  INVALID_UTF8: 'is not valid UTF-8'
}

interface Streamed {
  problem: TextProblem | null
  /** sha256 of the bytes (only meaningful when problem is null and the whole file was read). */
  sha256: string
  bytes: number
}

/**
 * Read a regular file in chunks through a fatal streaming UTF-8 decoder, checking as it goes what
 * readTextFile promises: not empty, no NUL byte, valid UTF-8, at most 10 % control characters in the
 * first 64 Ki characters. Text reaches `onText` only once that head has passed, so a binary file is
 * refused before any of it is parsed. Stops at the first problem, or after `stopAfter` bytes.
 */
function streamText(file: string, maxBytes: number, onText: ((piece: string) => void) | null, stopAfter = Infinity): Streamed {
  const { fd, size } = openRegular(file)
  try {
    if (size > maxBytes && stopAfter === Infinity) throw fileTooLarge(file, size, maxBytes)
    const hash = createHash('sha256')
    const decoder = new TextDecoder('utf-8', { fatal: true })
    const buf = Buffer.allocUnsafe(CHUNK_BYTES)
    let bytes = 0
    let control = 0
    let counted = 0
    let blank = true
    let head: string[] | null = [] // pieces held back until the control-character check has passed
    const result = (problem: TextProblem | null): Streamed => ({ problem, sha256: hash.digest('hex'), bytes })
    const take = (piece: string): TextProblem | null => {
      if (piece === '') return null
      if (blank && /\S/.test(piece)) blank = false
      if (head !== null) {
        const n = Math.min(piece.length, CONTROL_HEAD - counted)
        for (let i = 0; i < n; i++) {
          const c = piece.charCodeAt(i)
          if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f) control++
        }
        counted += n
        head.push(piece)
        if (counted < CONTROL_HEAD) return null
        if (control / counted > CONTROL_RATIO) return 'BINARY_FILE'
        for (const p of head) onText?.(p)
        head = null
        return null
      }
      onText?.(piece)
      return null
    }
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK_BYTES, null)
      if (n === 0) break
      bytes += n
      // A regular file that grows while it is read is held to the cap too.
      if (bytes > maxBytes && stopAfter === Infinity) throw fileTooLarge(file, bytes, maxBytes)
      const chunk = buf.subarray(0, n)
      if (chunk.includes(0)) return result('BINARY_FILE')
      hash.update(chunk)
      let piece: string
      try {
        piece = decoder.decode(chunk, { stream: true })
      } catch {
        return result('INVALID_UTF8')
      }
      const problem = take(piece)
      if (problem) return result(problem)
      if (bytes >= stopAfter) return result(head !== null && counted > 0 && control / counted > CONTROL_RATIO ? 'BINARY_FILE' : null)
    }
    if (bytes === 0) return result('EMPTY_FILE')
    let tail: string
    try {
      tail = decoder.decode()
    } catch {
      return result('INVALID_UTF8')
    }
    if (blank && /\S/.test(tail)) blank = false
    if (blank) return result('EMPTY_FILE')
    const problem = take(tail)
    if (problem) return result(problem)
    if (head !== null) {
      if (counted > 0 && control / counted > CONTROL_RATIO) return result('BINARY_FILE')
      for (const p of head) onText?.(p)
    }
    return result(null)
  } finally {
    fs.closeSync(fd)
  }
}

function throwProblem(file: string, problem: TextProblem): never {
  throw new DataError(problem, `corpus file ${file} ${PROBLEM_TEXT[problem]}`, { file })
}

/** Read a file as validated UTF-8 text, also returning its sha256 and size (one pass over the bytes). */
function readValidatedText(file: string, maxBytes: number): { text: string; sha256: string; bytes: number } {
  const pieces: string[] = []
  const r = streamText(file, maxBytes, (p) => pieces.push(p))
  if (r.problem) throwProblem(file, r.problem)
  return { text: pieces.join(''), sha256: r.sha256, bytes: r.bytes }
}

/**
 * Decode a file as validated UTF-8 text (BOM stripped) or throw a DataError naming it. Only regular files
 * are opened, and at most `maxBytes` (default: the per-file corpus limit) are read.
 */
export function readTextFile(file: string, maxBytes = corpusLimits().maxFileBytes): string {
  return readValidatedText(file, maxBytes).text
}

/** sha256 of a regular file, read in chunks. */
function hashFile(file: string): string {
  const { fd } = openRegular(file)
  try {
    const hash = createHash('sha256')
    const buf = Buffer.allocUnsafe(CHUNK_BYTES)
    for (let n = fs.readSync(fd, buf, 0, CHUNK_BYTES, null); n > 0; n = fs.readSync(fd, buf, 0, CHUNK_BYTES, null)) hash.update(buf.subarray(0, n))
    return hash.digest('hex')
  } finally {
    fs.closeSync(fd)
  }
}

export interface SkippedFile {
  file: string
  reason: string
}

/** Collect a folder's files in sorted order. Only regular files are kept; links and special files are listed as skipped. */
function walk(dir: string, out: string[], skipped: SkippedFile[]): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))
  for (const e of entries) {
    if (e.name.startsWith('.')) continue
    const p = path.join(dir, e.name)
    if (e.isDirectory()) walk(p, out, skipped)
    else if (e.isFile()) out.push(p)
    // Links inside folders were never followed (a link may point out of the folder, or loop); now they are reported.
    else if (e.isSymbolicLink()) skipped.push({ file: p, reason: 'symbolic link (not followed inside folders)' })
    else skipped.push({ file: p, reason: `not a regular file (${kindOf(fs.lstatSync(p))})` })
  }
}

interface ResolvedFile {
  file: string
  /** Name used in ids and the corpus hash: relative to the folder given, or the base name (see resolveFiles). */
  rel: string
  jsonl: boolean
  bytes: number
}

function resolveFiles(src: CorpusSource, limits: CorpusLimits): { files: ResolvedFile[]; skipped: SkippedFile[] } {
  if (!src.paths.length) throw new DataError('BAD_OPTION', 'corpus has no paths')
  const files: Array<ResolvedFile & { root: number }> = []
  const skipped: SkippedFile[] = []
  const isJsonl = (f: string): boolean => src.format === 'jsonl' || (src.format !== 'text' && JSONL_EXTS.has(path.extname(f).toLowerCase()))
  src.paths.forEach((p, root) => {
    const st = statPath(p) // follows a link given directly: to a file or folder it is read, to anything else refused
    if (st.isDirectory()) {
      const all: string[] = []
      walk(p, all, skipped)
      let found = 0
      for (const f of all) {
        const ext = path.extname(f).toLowerCase()
        const known = TEXT_EXTS.has(ext) || JSONL_EXTS.has(ext)
        const bytes = fs.statSync(f).size
        // Unknown extensions are sniffed; non-text ones (images, .DS_Store...) are skipped, not fatal. A file over
        // the cap is sniffed on its first chunk only: skipped if binary, else refused for its size when read.
        if (!known && streamText(f, limits.maxFileBytes, null, bytes > limits.maxFileBytes ? CHUNK_BYTES : Infinity).problem !== null) {
          skipped.push({ file: f, reason: 'not text' })
          continue
        }
        files.push({ file: f, rel: path.relative(p, f).split(path.sep).join('/'), jsonl: isJsonl(f), bytes, root })
        found++
      }
      if (found === 0) throw new DataError('NO_TEXT_FILES', `corpus folder ${p} contains no text files`, { file: p })
    } else if (st.isFile()) {
      files.push({ file: p, rel: path.basename(p), jsonl: isJsonl(p), bytes: st.size, root })
    } else {
      throw notRegular(p, st)
    }
  })
  // Names are relative to their root, so two roots can both hold `same.txt`. Only such clashing names get
  // their root's folder name in front (`a/same.txt`, `b/same.txt`; `<index>-a/...` if those match too):
  // every corpus that was accepted before keeps its ids, hash and split.
  const count = new Map<string, number>()
  for (const f of files) count.set(f.rel, (count.get(f.rel) ?? 0) + 1)
  if ([...count.values()].some((c) => c > 1)) {
    const base = src.paths.map((p, i) => path.basename(files.some((f) => f.root === i && f.file === p) ? path.dirname(p) : p) || `root${i}`)
    const label = base.map((b, i) => (base.filter((x) => x === b).length > 1 ? `${i}-${b}` : b))
    for (const f of files) if ((count.get(f.rel) ?? 0) > 1) f.rel = `${label[f.root]}/${f.rel}`
  }
  return { files: files.map(({ root: _root, ...f }) => f), skipped }
}

/** Parse a JSONL file line by line as it streams in; the file's text is never held whole. */
function readJsonl(f: ResolvedFile, src: CorpusSource, docs: Document[], maxBytes: number): { sha256: string; bytes: number } {
  const textField = src.textField ?? 'text'
  let carry: string[] = []
  let lineNo = 0
  const parseLine = (raw: string): void => {
    lineNo++
    const line = raw.trim()
    if (line === '') return
    let obj: unknown
    try {
      obj = JSON.parse(line)
    } catch (e) {
      throw new DataError('JSONL_PARSE', `${f.file}:${lineNo}: not valid JSON (${(e as Error).message})`, {
        file: f.file,
        line: lineNo
      })
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new DataError('JSONL_PARSE', `${f.file}:${lineNo}: expected a JSON object`, { file: f.file, line: lineNo })
    }
    const rec = obj as Record<string, unknown>
    const value = rec[textField]
    if (typeof value !== 'string') {
      throw new DataError('JSONL_FIELD', `${f.file}:${lineNo}: missing string field "${textField}"` + (value === undefined ? '' : ` (found ${typeof value})`), {
        file: f.file,
        line: lineNo
      })
    }
    if (value.trim() === '') return // an empty record carries nothing to learn; not worth failing on
    const id = src.idField !== undefined && rec[src.idField] !== undefined ? String(rec[src.idField]) : `${f.rel}:${lineNo}`
    const doc: Document = { id, text: value, source: `${f.file}:${lineNo}` }
    if (src.labelField !== undefined) {
      const label = rec[src.labelField]
      if (typeof label !== 'string' && typeof label !== 'number') {
        throw new DataError('JSONL_FIELD', `${f.file}:${lineNo}: missing label field "${src.labelField}"`, {
          file: f.file,
          line: lineNo
        })
      }
      doc.label = String(label)
    }
    docs.push(doc)
  }
  const r = streamText(f.file, maxBytes, (piece) => {
    // A line may span chunks; its parts are joined once it ends (no repeated copying of a long line).
    const lines = piece.split('\n')
    if (lines.length === 1) return void carry.push(piece)
    carry.push(lines[0] as string)
    parseLine(carry.join(''))
    carry = [lines.pop() as string]
    for (let i = 1; i < lines.length; i++) parseLine(lines[i] as string)
  })
  if (r.problem) throwProblem(f.file, r.problem)
  parseLine(carry.join(''))
  return { sha256: r.sha256, bytes: r.bytes }
}

export interface CorpusFingerprint {
  hash: string
  files: string[]
  skippedFiles: string[]
}

/** Hash a corpus without parsing it: enough to decide whether a cache is still valid. */
export function fingerprintCorpus(src: CorpusSource): CorpusFingerprint {
  const r = resolveFiles(src, corpusLimits(src))
  return fingerprint(
    src,
    r,
    r.files.map((f) => hashFile(f.file))
  )
}

function fingerprint(src: CorpusSource, r: { files: ResolvedFile[]; skipped: SkippedFile[] }, sha256s: readonly string[]): CorpusFingerprint {
  const parts = r.files.map((f, i) => `${f.rel}\0${sha256s[i]}`).sort()
  // Options that change what documents are read are part of the identity too (the size caps do not).
  const opts = JSON.stringify([src.format ?? 'auto', src.textField ?? 'text', src.idField ?? null, src.labelField ?? null])
  return { hash: sha256(`${opts}\n${parts.join('\n')}`), files: r.files.map((f) => f.file), skippedFiles: r.skipped.map((s) => s.file) }
}

/**
 * Read and validate a corpus. Document order is deterministic (sorted paths, file order). The size caps are
 * checked on every file before anything is read, and each file is read once (text and hash together).
 */
export function readCorpus(src: CorpusSource): Corpus {
  const limits = corpusLimits(src)
  const resolved = resolveFiles(src, limits)
  let total = 0
  for (const f of resolved.files) {
    if (f.bytes > limits.maxFileBytes) throw fileTooLarge(f.file, f.bytes, limits.maxFileBytes)
    total += f.bytes
  }
  if (total > limits.maxDomainBytes) {
    throw new DataError(
      'TOO_LARGE',
      `corpus ${src.paths.join(', ')} is ${formatBytes(total)} in ${resolved.files.length} files, over the per-domain limit of ${formatBytes(limits.maxDomainBytes)} (raise it with maxDomainBytes or ${MAX_DOMAIN_BYTES_ENV})`,
      { file: src.paths[0] }
    )
  }
  const docs: Document[] = []
  const fileInfo: CorpusFileInfo[] = []
  for (const f of resolved.files) {
    let read: { sha256: string; bytes: number }
    if (f.jsonl) read = readJsonl(f, src, docs, limits.maxFileBytes)
    else {
      const r = readValidatedText(f.file, limits.maxFileBytes)
      docs.push({ id: f.rel, text: r.text, source: f.file })
      read = r
    }
    fileInfo.push({ file: f.file, rel: f.rel, ...read })
  }
  if (docs.length === 0) {
    throw new DataError('EMPTY_CORPUS', `corpus ${src.paths.join(', ')} has no non-empty documents`, {
      file: src.paths[0]
    })
  }
  const seen = new Map<string, string>()
  for (const d of docs) {
    const first = seen.get(d.id)
    if (first !== undefined) throw new DataError('BAD_OPTION', `duplicate document id "${d.id}" (${first} and ${d.source})`, { file: d.source })
    seen.set(d.id, d.source)
  }
  return {
    documents: docs,
    ...fingerprint(
      src,
      resolved,
      fileInfo.map((i) => i.sha256)
    ),
    fileInfo,
    skipped: resolved.skipped
  }
}

/** One previewed document: its id and its text cut to a bounded number of characters. */
export interface PreviewDocument {
  id: string
  text: string
  truncated: boolean
}

/** Bytes read from one file for a preview: a preview never reads a corpus whole. */
const PREVIEW_READ_BYTES = 256 * 1024

/**
 * The first documents of a corpus in reading order, each cut to `chars` characters. Reads at most
 * PREVIEW_READ_BYTES of each file it opens; throws a DataError when the corpus's paths are gone.
 */
export function previewCorpus(src: CorpusSource, opts: { documents: number; chars: number }): PreviewDocument[] {
  const resolved = resolveFiles(src, corpusLimits(src))
  const out: PreviewDocument[] = []
  const cut = (id: string, text: string, whole: boolean): PreviewDocument => {
    const chars = [...text]
    return { id, text: chars.slice(0, opts.chars).join(''), truncated: !whole || chars.length > opts.chars }
  }
  for (const f of resolved.files) {
    if (out.length >= opts.documents) break
    const fd = fs.openSync(f.file, 'r')
    let raw: string
    let whole: boolean
    try {
      const buf = Buffer.alloc(Math.min(PREVIEW_READ_BYTES, f.bytes))
      const n = fs.readSync(fd, buf, 0, buf.length, 0)
      whole = n >= f.bytes
      // a multi-byte character cut at the end decodes as U+FFFD: dropped
      raw = buf
        .subarray(0, n)
        .toString('utf8')
        .replace(/^\uFEFF/, '')
        .replace(/\uFFFD+$/, '')
    } finally {
      fs.closeSync(fd)
    }
    if (!f.jsonl) {
      if (raw.trim() !== '') out.push(cut(f.rel, raw, whole))
      continue
    }
    const lines = raw.split('\n')
    if (!whole) lines.pop() // the last line may be cut
    lines.forEach((line, i) => {
      if (out.length >= opts.documents || line.trim() === '') return
      try {
        const rec = JSON.parse(line) as Record<string, unknown>
        const value = rec[src.textField ?? 'text']
        if (typeof value !== 'string' || value.trim() === '') return
        const id = src.idField !== undefined && rec[src.idField] !== undefined ? String(rec[src.idField]) : `${f.rel}:${i + 1}`
        out.push(cut(id, value, true))
      } catch {
        // a line the corpus reader would refuse: not previewed (the domain was read when it was added)
      }
    })
  }
  return out
}
