/**
 * Reading and validating a domain's corpus: text files, folders of text files (recursive), or JSONL.
 * Every problem a user can fix is a DataError naming the file (and line / field for JSONL).
 */
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
  /** Files in folders that were skipped because they are not text (e.g. images). */
  skippedFiles: string[]
}

const TEXT_EXTS = new Set(['.txt', '.md', '.text', '.markdown', '.rst'])
const JSONL_EXTS = new Set(['.jsonl', '.ndjson'])
/** Share of control characters above which a file counts as binary. */
const CONTROL_RATIO = 0.1

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Classify raw bytes: why they are not usable text, or null if they are. */
function textProblem(bytes: Uint8Array): 'EMPTY_FILE' | 'BINARY_FILE' | 'INVALID_UTF8' | null {
  if (bytes.length === 0) return 'EMPTY_FILE'
  if (bytes.includes(0)) return 'BINARY_FILE'
  let text: string
  try {
    text = fatalUtf8.decode(bytes)
  } catch {
    return 'INVALID_UTF8'
  }
  if (text.trim() === '') return 'EMPTY_FILE'
  let control = 0
  const n = Math.min(text.length, 1 << 16)
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f) control++
  }
  return control / n > CONTROL_RATIO ? 'BINARY_FILE' : null
}

const PROBLEM_TEXT: Record<'EMPTY_FILE' | 'BINARY_FILE' | 'INVALID_UTF8', string> = {
  EMPTY_FILE: 'is empty',
  BINARY_FILE: 'looks binary (NUL bytes or many control characters), not text',
  INVALID_UTF8: 'is not valid UTF-8'
}

/** Decode a file as validated UTF-8 text (BOM stripped) or throw a DataError naming it. */
export function readTextFile(file: string): string {
  let bytes: Uint8Array
  try {
    bytes = fs.readFileSync(file)
  } catch {
    throw new DataError('NOT_FOUND', `corpus file not found or unreadable: ${file}`, { file })
  }
  const problem = textProblem(bytes)
  if (problem) throw new DataError(problem, `corpus file ${file} ${PROBLEM_TEXT[problem]}`, { file })
  return fatalUtf8.decode(bytes).replace(/^\uFEFF/, '')
}

function walk(dir: string, out: string[]): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))
  for (const e of entries) {
    if (e.name.startsWith('.')) continue
    const p = path.join(dir, e.name)
    if (e.isDirectory()) walk(p, out)
    else if (e.isFile()) out.push(p)
  }
}

interface ResolvedFile {
  file: string
  /** Name used in ids and the corpus hash: relative to the folder given, or the base name. */
  rel: string
  jsonl: boolean
}

function resolveFiles(src: CorpusSource): { files: ResolvedFile[]; skipped: string[] } {
  if (!src.paths.length) throw new DataError('BAD_OPTION', 'corpus has no paths')
  const files: ResolvedFile[] = []
  const skipped: string[] = []
  const isJsonl = (f: string): boolean =>
    src.format === 'jsonl' || (src.format !== 'text' && JSONL_EXTS.has(path.extname(f).toLowerCase()))
  for (const p of src.paths) {
    if (!fs.existsSync(p)) throw new DataError('NOT_FOUND', `corpus path not found: ${p}`, { file: p })
    if (fs.statSync(p).isDirectory()) {
      const all: string[] = []
      walk(p, all)
      let found = 0
      for (const f of all) {
        const ext = path.extname(f).toLowerCase()
        const known = TEXT_EXTS.has(ext) || JSONL_EXTS.has(ext)
        // Unknown extensions are sniffed; non-text ones (images, .DS_Store...) are skipped, not fatal.
        if (!known && textProblem(fs.readFileSync(f)) !== null) {
          skipped.push(f)
          continue
        }
        files.push({ file: f, rel: path.relative(p, f).split(path.sep).join('/'), jsonl: isJsonl(f) })
        found++
      }
      if (found === 0) throw new DataError('NO_TEXT_FILES', `corpus folder ${p} contains no text files`, { file: p })
    } else {
      files.push({ file: p, rel: path.basename(p), jsonl: isJsonl(p) })
    }
  }
  return { files, skipped }
}

function readJsonl(f: ResolvedFile, src: CorpusSource, docs: Document[]): void {
  const textField = src.textField ?? 'text'
  const text = readTextFile(f.file)
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim()
    if (line === '') continue
    const lineNo = i + 1
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
      throw new DataError(
        'JSONL_FIELD',
        `${f.file}:${lineNo}: missing string field "${textField}"` +
          (value === undefined ? '' : ` (found ${typeof value})`),
        { file: f.file, line: lineNo }
      )
    }
    if (value.trim() === '') continue // an empty record carries nothing to learn; not worth failing on
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
}

export interface CorpusFingerprint {
  hash: string
  files: string[]
  skippedFiles: string[]
}

/** Hash a corpus without parsing it: enough to decide whether a cache is still valid. */
export function fingerprintCorpus(src: CorpusSource): CorpusFingerprint {
  return fingerprint(src, resolveFiles(src))
}

function fingerprint(src: CorpusSource, r: { files: ResolvedFile[]; skipped: string[] }): CorpusFingerprint {
  const parts = r.files.map((f) => `${f.rel}\0${sha256(fs.readFileSync(f.file))}`).sort()
  // Options that change what documents are read are part of the identity too.
  const opts = JSON.stringify([src.format ?? 'auto', src.textField ?? 'text', src.idField ?? null, src.labelField ?? null])
  return { hash: sha256(`${opts}\n${parts.join('\n')}`), files: r.files.map((f) => f.file), skippedFiles: r.skipped }
}

/** Read and validate a corpus. Document order is deterministic (sorted paths, file order). */
export function readCorpus(src: CorpusSource): Corpus {
  const resolved = resolveFiles(src)
  const docs: Document[] = []
  for (const f of resolved.files) {
    if (f.jsonl) readJsonl(f, src, docs)
    else docs.push({ id: f.rel, text: readTextFile(f.file), source: f.file })
  }
  if (docs.length === 0) {
    throw new DataError('EMPTY_CORPUS', `corpus ${src.paths.join(', ')} has no non-empty documents`, {
      file: src.paths[0]
    })
  }
  const seen = new Set<string>()
  for (const d of docs) {
    if (seen.has(d.id)) throw new DataError('BAD_OPTION', `duplicate document id "${d.id}" (${d.source})`, { file: d.source })
    seen.add(d.id)
  }
  return { documents: docs, ...fingerprint(src, resolved) }
}
