// Resolving a run's domains to tokenized data: the built-in default stream (prepared on first use) and
// domains the user added to the store. One tokenizer serves every domain: the default stream's, trained
// on its first domain and frozen, so prompt slots and the vocabulary never change within the workbench.
import fs from 'node:fs'
import path from 'node:path'
import {
  DataError,
  DEFAULT_DOMAINS,
  domainStats,
  DEFAULT_PROMPT_SLOTS,
  ensureDefaultStream,
  findCachedDomain,
  fingerprintCorpus,
  previewCorpus,
  readStreamManifest,
  renameCachedDomain,
  loadTokenizedDomain,
  loadTokenizer,
  readCorpus,
  tokenizeDomain,
  type CorpusSource,
  type StreamManifest,
  type Tokenizer,
  type TokenizedSplit
} from '../data'
import { StoreError, type ExperimentStore } from '../store/store'
import { DOMAIN_PREVIEW_CHARS, DOMAIN_PREVIEW_DOCUMENTS, type DomainDetail, type DomainSummary } from '../../../shared/contract'
import { TrainingSettings } from './config'
import { sha256File } from '../util/files'

export interface DomainData {
  name: string
  promptSlot: number
  train: TokenizedSplit
  validation: TokenizedSplit
  test: TokenizedSplit
}

export interface RunData {
  tokenizer: Tokenizer
  tokenizerFile: string
  domains: Map<string, DomainData>
}

export class UnknownDomainError extends Error {
  constructor(name: string, known: string[]) {
    super(`unknown domain "${name}"; known domains: ${known.join(', ')}`)
    this.name = 'UnknownDomainError'
  }
}

export const defaultStreamDir = (dataDir: string): string => path.join(dataDir, 'default-stream')
const userCacheDir = (dataDir: string): string => path.join(dataDir, 'cache')

/** The name the built-in stream is registered under. */
export const BUILTIN_STREAM_NAME = 'default'

/** Prepare the default stream if needed and make sure the store lists its domains and the stream itself. */
export async function ensureDefaultDomains(store: ExperimentStore, dataDir: string, log?: (message: string) => void): Promise<StreamManifest> {
  const manifest = await ensureDefaultStream(defaultStreamDir(dataDir), { log })
  for (const domain of manifest.domains) {
    if (store.findDomain(domain.name)) continue
    const fingerprint = fingerprintCorpus(domain.corpus)
    try {
      store.createDomain({
        name: domain.name,
        description: domain.description,
        builtin: true,
        promptSlot: domain.promptSlot,
        source: { default: true },
        files: fingerprint.files.map((file) => ({
          path: file,
          sha256: sha256File(file),
          bytes: fs.statSync(file).size,
          documents: domain.stats.train.documents + domain.stats.validation.documents + domain.stats.test.documents,
          tokens: domain.stats.train.tokens + domain.stats.validation.tokens + domain.stats.test.tokens
        }))
      })
    } catch (e) {
      // Another process (a concurrent `domains add` on a new store) registered it first: that is fine.
      if (!(e instanceof StoreError && e.code === 'conflict' && store.findDomain(domain.name))) throw e
    }
  }
  store.ensureBuiltinStream(
    BUILTIN_STREAM_NAME,
    manifest.domains.map((d) => d.name)
  )
  return manifest
}

export interface AddedDomain {
  name: string
  promptSlot: number
  tokens: number
  documents: number
  /** Entries of the corpus folders that were not read, with why (not text, a link, a FIFO, a socket, a device). */
  skipped: Array<{ file: string; reason: string }>
}

/** The run shape a new domain must be able to serve: the default sequence length (TrainingSettings). */
export const DEFAULT_SHAPE_SEQ_LEN = TrainingSettings.parse({}).seqLen

/**
 * Tokens a split needs for one sequence of `seqLen`: a GPT block without a prompt takes seqLen + 1 tokens
 * (inputs plus the last target), every other layout fewer. Counting text tokens only (not the <eos> after
 * each document) keeps the bound safe.
 */
export const tokensForOneSequence = (seqLen: number): number => seqLen + 1

/**
 * Why a tokenized domain cannot serve one training batch of sequences of `seqLen` (a training sequence from
 * its train split and a validation sequence from its validation split), or null when it can.
 */
export function domainSizeProblem(
  label: string,
  splits: Record<'train' | 'validation' | 'test', { tokens: number; documents: number }>,
  seqLen: number,
  shape: string
): string | null {
  const need = tokensForOneSequence(seqLen)
  const total = splits.train.tokens + splits.validation.tokens + splits.test.tokens
  if (total < 2 * need) {
    return `${label} has ${total.toLocaleString('en')} tokens; at least ${2 * need} are needed for one training batch of ${shape} (seqLen ${seqLen}: ${need} tokens for a training sequence and ${need} for a validation sequence)`
  }
  for (const [split, what] of [
    ['train', 'training'],
    ['validation', 'validation']
  ] as const) {
    const s = splits[split]
    if (s.tokens >= need) continue
    return (
      `${label} has ${total.toLocaleString('en')} tokens, but its ${split} split has ${s.tokens} (${s.documents} of ${splits.train.documents + splits.validation.documents + splits.test.documents} documents); ` +
      `at least ${need} are needed for one ${what} sequence of ${shape} (seqLen ${seqLen}). Documents are split whole, so add documents` +
      (split === 'validation' ? ' (with 3 or more, validation and test get at least one each)' : '')
    )
  }
  return null
}

/** Add a user domain: validate and tokenize its corpus now, so problems surface before any run. */
export async function addUserDomain(store: ExperimentStore, dataDir: string, input: { name: string; source: CorpusSource; description?: string }): Promise<AddedDomain> {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(input.name)) {
    throw new Error(`domain name "${input.name}" must be 1-64 letters, digits, "-" or "_", starting with a letter or digit`)
  }
  if (store.findDomain(input.name)) throw new Error(`domain "${input.name}" already exists; choose another name`)
  const source: CorpusSource = { ...input.source, paths: input.source.paths.map((p) => path.resolve(p)) }
  const corpus = readCorpus(source) // throws DataError naming the file, line or field (or the size over a cap)
  const manifest = await ensureDefaultDomains(store, dataDir)
  const slots = manifest.tokenizer.promptSlots ?? DEFAULT_PROMPT_SLOTS
  // Early answer only (before tokenizing); the slot itself is chosen when the domain is inserted.
  if (store.freePromptSlot(slots, DEFAULT_DOMAINS.length) === null) {
    throw new Error(`all ${slots} prompt slots are taken; no more domains can be added to this workbench`)
  }
  const perFile = new Map<string, number>()
  for (const d of corpus.documents) {
    const file = d.source.replace(/:\d+$/, '') // JSONL documents are named file:line
    perFile.set(file, (perFile.get(file) ?? 0) + 1)
  }
  const documents = corpus.documents.length
  const tokenizer = loadTokenizer(manifest.tokenizer.file)
  const tokenized = await tokenizeDomain({ name: input.name, corpus: source }, tokenizer, userCacheDir(dataDir), { corpus })
  const stats = domainStats(tokenized)
  const tooSmall = domainSizeProblem(`corpus ${source.paths.join(', ')}`, stats, DEFAULT_SHAPE_SEQ_LEN, 'the default shape')
  if (tooSmall) throw new DataError('TOO_SMALL', tooSmall, { file: source.paths[0] })
  const tokens = stats.train.tokens + stats.validation.tokens + stats.test.tokens
  // Token counts are known per domain (documents are split across train/validation/test), so the first
  // file carries the domain's total and the others 0; the store sums them.
  const created = store.createDomain({
    name: input.name,
    description: input.description ?? null,
    // Chosen inside the insert's transaction: two processes adding domains at once get different slots.
    promptSlot: { auto: { slots, from: DEFAULT_DOMAINS.length } },
    source,
    files: corpus.fileInfo.map((f, i) => ({ path: f.file, sha256: f.sha256, bytes: f.bytes, documents: perFile.get(f.file) ?? 0, tokens: i === 0 ? tokens : 0 }))
  })
  return { name: input.name, promptSlot: created.promptSlot as number, tokens, documents, skipped: corpus.skipped }
}

/** What a run asks of each domain's splits: sequences of `seqLen` laid out for `kind`, with or without a prompt. */
export interface RunShape {
  kind: 'gpt' | 'bert'
  seqLen: number
  prompts: 'own' | 'off' | 'wrong'
}

/**
 * Text tokens a split of `documents` documents needs for one sequence of this shape: BlockBatcher's rule
 * exactly (each document is followed by an <eos>; a GPT block without a prompt takes one look-ahead token).
 */
export function tokensNeeded(shape: RunShape, documents: number): number {
  const stream = shape.kind === 'gpt' ? shape.seqLen + (shape.prompts === 'off' ? 1 : 0) : 1
  return Math.max(1, stream - documents)
}

/** Why a domain cannot give this run one training and one validation sequence, or null when it can. */
export function runShapeProblem(name: string, splits: Record<'train' | 'validation', { tokens: number; documents: number }>, shape: RunShape): string | null {
  for (const [split, what] of [
    ['train', 'training'],
    ['validation', 'validation']
  ] as const) {
    const { tokens, documents } = splits[split]
    const need = tokensNeeded(shape, documents)
    if (tokens >= need) continue
    return `domain "${name}" has ${tokens} tokens in its ${split} split (${documents} documents); at least ${need} are needed for one ${what} sequence of this run's shape (${shape.kind}, seqLen ${shape.seqLen}, prompts ${shape.prompts})`
  }
  return null
}

/**
 * Tokenized splits for the named domains, in order; unknown names are refused with the list of known ones.
 * With the run's `shape`, a domain too small for one training or validation sequence is refused, naming
 * its numbers, before any model is built.
 */
export async function loadRunData(store: ExperimentStore, dataDir: string, names: readonly string[], log?: (message: string) => void, shape?: RunShape): Promise<RunData> {
  const manifest = await ensureDefaultDomains(store, dataDir, log)
  const tokenizer = loadTokenizer(manifest.tokenizer.file)
  const domains = new Map<string, DomainData>()
  for (const name of names) {
    if (domains.has(name)) continue
    const builtin = manifest.domains.find((d) => d.name === name)
    let data: DomainData
    if (builtin) {
      const t = loadTokenizedDomain(builtin.cacheDir)
      data = { name, promptSlot: builtin.promptSlot, train: t.splits.train, validation: t.splits.validation, test: t.splits.test }
    } else {
      const stored = store.findDomain(name)
      if (!stored || stored.promptSlot === null)
        throw new UnknownDomainError(
          name,
          store.listDomains().map((d) => d.name)
        )
      const t = await tokenizeDomain({ name, corpus: stored.source as CorpusSource }, tokenizer, userCacheDir(dataDir))
      data = { name, promptSlot: stored.promptSlot, train: t.splits.train, validation: t.splits.validation, test: t.splits.test }
    }
    const problem = shape ? runShapeProblem(name, { train: data.train.stats, validation: data.validation.stats }, shape) : null
    if (problem) throw new DataError('TOO_SMALL', problem)
    domains.set(name, data)
  }
  return { tokenizer, tokenizerFile: manifest.tokenizer.file, domains }
}

/** domains.get: a domain's stored facts, its split sizes from the token cache, a preview, tasks, streams and runs. */
export function describeDomain(store: ExperimentStore, dataDir: string, ref: number | string): DomainDetail {
  const domain = store.domainByRef(ref)
  const manifest = readStreamManifest(defaultStreamDir(dataDir))
  const builtin = domain.builtin ? (manifest?.domains.find((d) => d.name === domain.name) ?? null) : null
  const userSource = domain.builtin ? null : (domain.source as CorpusSource | null)
  const corpus: CorpusSource | null = builtin?.corpus ?? userSource
  let splits: DomainDetail['splits'] = null
  if (builtin) splits = builtin.stats
  else if (manifest) {
    const header = findCachedDomain(userCacheDir(dataDir), domain.name, manifest.tokenizer.hash)
    if (header) splits = header.splits
  }
  let preview: DomainDetail['preview'] = []
  let previewProblem: string | null = null
  if (!corpus) previewProblem = 'no corpus is recorded for this domain'
  else {
    try {
      preview = previewCorpus(corpus, { documents: DOMAIN_PREVIEW_DOCUMENTS, chars: DOMAIN_PREVIEW_CHARS })
      if (preview.length === 0) previewProblem = 'its files have no document to show'
    } catch (e) {
      previewProblem = `its corpus cannot be read now: ${(e as Error).message}`
    }
  }
  const pick = (s: { documents: number; tokens: number }) => ({ documents: s.documents, tokens: s.tokens })
  const { source: _source, ...summary } = domain
  return {
    ...summary,
    documents: store.domainDocuments(domain.id),
    source: userSource ? { paths: userSource.paths, format: userSource.format ?? 'auto', textField: userSource.textField ?? null } : null,
    splits: splits ? { train: pick(splits.train), validation: pick(splits.validation), test: pick(splits.test) } : null,
    preview,
    previewProblem,
    tasks: builtin ? builtin.tasks.map((t) => `${domain.name}-${t.name}`) : [],
    streams: store.domainStreams(domain.id),
    runs: store.domainRuns(domain.name)
  }
}

/** Rename a user domain (the store's rules) and move its token cache with it. */
export function renameUserDomain(store: ExperimentStore, dataDir: string, ref: number | string, newName: string): { domain: DomainSummary; savedChanged: number } {
  const before = store.domainByRef(ref)
  const renamed = store.renameDomain(before.id, newName)
  if (renamed.domain.name !== before.name) renameCachedDomain(userCacheDir(dataDir), before.name, renamed.domain.name)
  return renamed
}
