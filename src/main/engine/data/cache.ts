/**
 * Tokenize a domain once and keep it on disk in a compact binary form.
 *
 * Layout of one cache entry `<cacheDir>/<domain>-<key16>/`:
 *   header.json              format/version, dtype, hashes, split options, per-split stats and document ids
 *   <split>.tokens.bin       all documents' token ids back to back, little-endian uint16 (vocab <= 65536) or uint32
 *   <split>.offsets.bin      uint32 little-endian, documents+1 entries: document d is tokens[offsets[d], offsets[d+1])
 * The key is sha256 over (corpus hash, tokenizer hash, split options, format version), so a changed file,
 * tokenizer or split gives a new entry and an unchanged one is read back without tokenizing.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fingerprintCorpus, readCorpus, type Corpus, type Document, type DomainSpec } from './corpus'
import { DataError } from './errors'
import { sha256 } from './hash'
import { DEFAULT_SPLIT_RATIOS, DEFAULT_SPLIT_SEED, SPLITS, splitDocuments, type SplitName, type SplitOptions } from './split'
import type { Tokenizer } from './tokenizer'

export const CACHE_FORMAT = 'elle-token-cache'
export const CACHE_VERSION = 1

export type TokenArray = Uint16Array | Uint32Array

export interface SplitStats {
  documents: number
  tokens: number
  /** UTF-8 bytes of the documents' text. */
  bytes: number
}

export interface CacheHeader {
  format: typeof CACHE_FORMAT
  version: typeof CACHE_VERSION
  domain: string
  dtype: 'uint16' | 'uint32'
  vocabSize: number
  tokenizerHash: string
  corpusHash: string
  split: { ratios: [number, number, number]; seed: number; stratified: boolean }
  splits: Record<SplitName, SplitStats & { docIds: string[] }>
}

export interface TokenizedSplit {
  domain: string
  split: SplitName
  tokens: TokenArray
  offsets: Uint32Array
  docIds: string[]
  stats: SplitStats
}

export interface TokenizedDomain {
  name: string
  dir: string
  header: CacheHeader
  /** True when read back from disk without tokenizing. */
  fromCache: boolean
  splits: Record<SplitName, TokenizedSplit>
}

export interface TokenizeDomainOptions {
  split?: SplitOptions
  /** Stratify the split by document label (JSONL labelField). Default false. */
  stratifyByLabel?: boolean
  /** The corpus as readCorpus just read it from `domain.corpus`, so its files are not read (and hashed) again. */
  corpus?: Corpus
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || 'domain'
}

export function cacheKey(corpusHash: string, tokenizerHash: string, split: CacheHeader['split']): string {
  return sha256(JSON.stringify({ format: CACHE_FORMAT, version: CACHE_VERSION, corpusHash, tokenizerHash, split }))
}

/** Tokenize (or load from cache) every split of a domain. */
export async function tokenizeDomain(domain: DomainSpec, tokenizer: Tokenizer, cacheDir: string, opts: TokenizeDomainOptions = {}): Promise<TokenizedDomain> {
  const split: CacheHeader['split'] = {
    ratios: [...(opts.split?.ratios ?? DEFAULT_SPLIT_RATIOS)] as [number, number, number],
    seed: opts.split?.seed ?? DEFAULT_SPLIT_SEED,
    stratified: opts.stratifyByLabel ?? false
  }
  const corpusHash = opts.corpus?.hash ?? fingerprintCorpus(domain.corpus).hash
  const dir = path.join(cacheDir, `${slug(domain.name)}-${cacheKey(corpusHash, tokenizer.hash, split).slice(0, 16)}`)
  if (fs.existsSync(path.join(dir, 'header.json'))) {
    return { ...loadTokenizedDomain(dir), fromCache: true }
  }

  const corpus = opts.corpus ?? readCorpus(domain.corpus)
  const assignment = splitDocuments(corpus.documents, split, split.stratified ? (d: Document) => d.label ?? '' : undefined)
  // Each document leaves this map once it is encoded, so (unless the caller holds the corpus) its text can be
  // freed while the rest is tokenized.
  const byId = new Map(corpus.documents.map((d) => [d.id, d]))
  if (!opts.corpus) corpus.documents.length = 0
  const dtype: CacheHeader['dtype'] = tokenizer.vocabSize <= 65536 ? 'uint16' : 'uint32'
  const header: CacheHeader = {
    format: CACHE_FORMAT,
    version: CACHE_VERSION,
    domain: domain.name,
    dtype,
    vocabSize: tokenizer.vocabSize,
    tokenizerHash: tokenizer.hash,
    corpusHash: corpus.hash,
    split,
    splits: {} as CacheHeader['splits']
  }

  // Write into a private temp dir and rename, so a crash or a concurrent build never leaves half a cache.
  fs.mkdirSync(cacheDir, { recursive: true })
  const tmp = fs.mkdtempSync(`${dir}.tmp-`)
  try {
    for (const s of SPLITS) {
      const docIds = assignment[s]
      const encoded: TokenArray[] = []
      let bytes = 0
      let total = 0
      for (const id of docIds) {
        const doc = byId.get(id) as Document
        byId.delete(id)
        const ids = tokenizer.encode(doc.text)
        // Kept in the cache's own dtype (half the size of the encoder's Int32Array for vocabularies <= 65536).
        encoded.push(dtype === 'uint16' ? new Uint16Array(ids) : new Uint32Array(ids))
        total += ids.length
        bytes += Buffer.byteLength(doc.text, 'utf8')
      }
      if (total > 0xffffffff) throw new DataError('CACHE', `domain ${domain.name} split ${s} has more than 2^32 tokens`)
      const tokens: TokenArray = dtype === 'uint16' ? new Uint16Array(total) : new Uint32Array(total)
      const offsets = new Uint32Array(docIds.length + 1)
      let at = 0
      encoded.forEach((ids, d) => {
        tokens.set(ids, at)
        at += ids.length
        offsets[d + 1] = at
      })
      fs.writeFileSync(path.join(tmp, `${s}.tokens.bin`), toBytes(tokens))
      fs.writeFileSync(path.join(tmp, `${s}.offsets.bin`), toBytes(offsets))
      header.splits[s] = { documents: docIds.length, tokens: total, bytes, docIds }
    }
    fs.writeFileSync(path.join(tmp, 'header.json'), JSON.stringify(header, null, 1))
    try {
      fs.renameSync(tmp, dir)
    } catch (e) {
      // Someone else finished the same entry first; theirs is identical.
      if (!fs.existsSync(path.join(dir, 'header.json'))) throw e
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
  return { ...loadTokenizedDomain(dir), fromCache: false }
}

function toBytes(a: TokenArray): Uint8Array {
  // The format is little-endian; every platform Node/Electron ships on is little-endian.
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

function readArray(file: string, dtype: 'uint16' | 'uint32'): TokenArray {
  const buf = fs.readFileSync(file)
  // Copy into a fresh ArrayBuffer: a Buffer's offset need not be aligned for a typed-array view.
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  return dtype === 'uint16' ? new Uint16Array(ab) : new Uint32Array(ab)
}

/** Read a cache entry written by tokenizeDomain. */
export function loadTokenizedDomain(dir: string): Omit<TokenizedDomain, 'fromCache'> {
  const headerFile = path.join(dir, 'header.json')
  let header: CacheHeader
  try {
    header = JSON.parse(fs.readFileSync(headerFile, 'utf8')) as CacheHeader
  } catch (e) {
    throw new DataError('CACHE', `cannot read token cache header ${headerFile}: ${(e as Error).message}`, { file: headerFile })
  }
  if (header.format !== CACHE_FORMAT || header.version !== CACHE_VERSION) {
    throw new DataError('CACHE', `${headerFile}: unsupported cache format ${header.format} v${header.version}`, { file: headerFile })
  }
  const splits = {} as Record<SplitName, TokenizedSplit>
  for (const s of SPLITS) {
    const h = header.splits[s]
    const tokens = readArray(path.join(dir, `${s}.tokens.bin`), header.dtype)
    const offsets = readArray(path.join(dir, `${s}.offsets.bin`), 'uint32') as Uint32Array
    if (tokens.length !== h.tokens || offsets.length !== h.documents + 1) {
      throw new DataError('CACHE', `token cache ${dir} is inconsistent for split ${s}; delete it to rebuild`, { file: dir })
    }
    splits[s] = {
      domain: header.domain,
      split: s,
      tokens,
      offsets,
      docIds: h.docIds,
      stats: { documents: h.documents, tokens: h.tokens, bytes: h.bytes }
    }
  }
  return { name: header.domain, dir, header, splits }
}

/** Per-split statistics of a tokenized domain (what docs/data.md reports). */
export function domainStats(d: Pick<TokenizedDomain, 'splits'>): Record<SplitName, SplitStats> {
  return {
    train: d.splits.train.stats,
    validation: d.splits.validation.stats,
    test: d.splits.test.stats
  }
}

/** The token-cache entries written for a domain name (any corpus or tokenizer version), newest first. */
function cachedEntries(cacheDir: string, name: string): Array<{ dir: string; header: CacheHeader; mtimeMs: number }> {
  if (!fs.existsSync(cacheDir)) return []
  const prefix = `${slug(name)}-`
  const out: Array<{ dir: string; header: CacheHeader; mtimeMs: number }> = []
  for (const entry of fs.readdirSync(cacheDir)) {
    if (!entry.startsWith(prefix) || entry.includes('.tmp-')) continue
    const file = path.join(cacheDir, entry, 'header.json')
    try {
      const header = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheHeader
      if (header.format === CACHE_FORMAT && header.domain === name) out.push({ dir: path.join(cacheDir, entry), header, mtimeMs: fs.statSync(file).mtimeMs })
    } catch {
      // not a cache entry (or a broken one): not this domain's
    }
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs)
}

/** The newest cache header of a domain tokenized with this tokenizer, without reading its corpus; null when none. */
export function findCachedDomain(cacheDir: string, name: string, tokenizerHash: string): CacheHeader | null {
  return cachedEntries(cacheDir, name).find((e) => e.header.tokenizerHash === tokenizerHash)?.header ?? null
}

/**
 * Move a domain's cache entries to a new name (a renamed domain keeps its tokens). Each entry's header is
 * rewritten, then its folder renamed; an entry that cannot be moved is left (the domain is tokenized again).
 */
export function renameCachedDomain(cacheDir: string, from: string, to: string): void {
  for (const entry of cachedEntries(cacheDir, from)) {
    const key = path.basename(entry.dir).slice(slug(from).length + 1)
    const target = path.join(cacheDir, `${slug(to)}-${key}`)
    if (fs.existsSync(target)) continue
    try {
      const tmp = path.join(entry.dir, 'header.json.tmp')
      fs.writeFileSync(tmp, JSON.stringify({ ...entry.header, domain: to }, null, 1))
      fs.renameSync(tmp, path.join(entry.dir, 'header.json'))
      fs.renameSync(entry.dir, target)
    } catch {
      // left where it was: a later run tokenizes the domain again under its new name
    }
  }
}
