// Resolving a run's domains to tokenized data: the built-in default stream (prepared on first use) and
// domains the user added to the store. One tokenizer serves every domain: the default stream's, trained
// on its first domain and frozen, so prompt slots and the vocabulary never change within the workbench.
import fs from 'node:fs'
import path from 'node:path'
import {
  DEFAULT_DOMAINS,
  DEFAULT_PROMPT_SLOTS,
  ensureDefaultStream,
  fingerprintCorpus,
  loadTokenizedDomain,
  loadTokenizer,
  readCorpus,
  tokenizeDomain,
  type CorpusSource,
  type StreamManifest,
  type Tokenizer,
  type TokenizedSplit
} from '../data'
import type { ExperimentStore } from '../store/store'
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

/** Prepare the default stream if needed and make sure the store lists its domains. */
export async function ensureDefaultDomains(store: ExperimentStore, dataDir: string, log?: (message: string) => void): Promise<StreamManifest> {
  const manifest = await ensureDefaultStream(defaultStreamDir(dataDir), { log })
  for (const domain of manifest.domains) {
    if (store.findDomain(domain.name)) continue
    const fingerprint = fingerprintCorpus(domain.corpus)
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
  }
  return manifest
}

export interface AddedDomain {
  name: string
  promptSlot: number
  tokens: number
  documents: number
}

/** Add a user domain: validate and tokenize its corpus now, so problems surface before any run. */
export async function addUserDomain(
  store: ExperimentStore,
  dataDir: string,
  input: { name: string; source: CorpusSource; description?: string }
): Promise<AddedDomain> {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(input.name)) {
    throw new Error(`domain name "${input.name}" must be 1-64 letters, digits, "-" or "_", starting with a letter or digit`)
  }
  if (store.findDomain(input.name)) throw new Error(`domain "${input.name}" already exists; choose another name`)
  const source: CorpusSource = { ...input.source, paths: input.source.paths.map((p) => path.resolve(p)) }
  const corpus = readCorpus(source) // throws DataError naming the file, line or field
  const manifest = await ensureDefaultDomains(store, dataDir)
  const slot = store.freePromptSlot(manifest.tokenizer.promptSlots ?? DEFAULT_PROMPT_SLOTS, DEFAULT_DOMAINS.length)
  if (slot === null) throw new Error(`all ${manifest.tokenizer.promptSlots} prompt slots are taken; no more domains can be added to this workbench`)
  const tokenizer = loadTokenizer(manifest.tokenizer.file)
  const tokenized = await tokenizeDomain({ name: input.name, corpus: source }, tokenizer, userCacheDir(dataDir))
  const tokens = tokenized.splits.train.stats.tokens + tokenized.splits.validation.stats.tokens + tokenized.splits.test.stats.tokens
  const perFile = new Map<string, number>()
  for (const d of corpus.documents) {
    const file = d.source.replace(/:\d+$/, '') // JSONL documents are named file:line
    perFile.set(file, (perFile.get(file) ?? 0) + 1)
  }
  // Token counts are known per domain (documents are split across train/validation/test), so the first
  // file carries the domain's total and the others 0; the store sums them.
  store.createDomain({
    name: input.name,
    description: input.description ?? null,
    promptSlot: slot,
    source,
    files: corpus.files.map((file, i) => ({ path: file, sha256: sha256File(file), bytes: fs.statSync(file).size, documents: perFile.get(file) ?? 0, tokens: i === 0 ? tokens : 0 }))
  })
  return { name: input.name, promptSlot: slot, tokens, documents: corpus.documents.length }
}

/** Tokenized splits for the named domains, in order; unknown names are refused with the list of known ones. */
export async function loadRunData(store: ExperimentStore, dataDir: string, names: readonly string[], log?: (message: string) => void): Promise<RunData> {
  const manifest = await ensureDefaultDomains(store, dataDir, log)
  const tokenizer = loadTokenizer(manifest.tokenizer.file)
  const domains = new Map<string, DomainData>()
  for (const name of names) {
    if (domains.has(name)) continue
    const builtin = manifest.domains.find((d) => d.name === name)
    if (builtin) {
      const t = loadTokenizedDomain(builtin.cacheDir)
      domains.set(name, { name, promptSlot: builtin.promptSlot, train: t.splits.train, validation: t.splits.validation, test: t.splits.test })
      continue
    }
    const stored = store.findDomain(name)
    if (!stored || stored.promptSlot === null) throw new UnknownDomainError(name, store.listDomains().map((d) => d.name))
    const t = await tokenizeDomain({ name, corpus: stored.source as CorpusSource }, tokenizer, userCacheDir(dataDir))
    domains.set(name, { name, promptSlot: stored.promptSlot, train: t.splits.train, validation: t.splits.validation, test: t.splits.test })
  }
  return { tokenizer, tokenizerFile: manifest.tokenizer.file, domains }
}
