/** Data layer of the ELLE Workbench: tokenizer, corpora, splits, token cache, batches, tasks, default stream. */
export { DataError, type DataErrorCode } from './errors'
export {
  Tokenizer,
  trainTokenizer,
  saveTokenizer,
  loadTokenizer,
  promptToken,
  SPECIAL_TOKENS,
  DEFAULT_VOCAB_SIZE,
  DEFAULT_PROMPT_SLOTS,
  TOKENIZER_FILE,
  type SpecialIds,
  type SpecialName,
  type TrainTokenizerOptions
} from './tokenizer'
export {
  readCorpus,
  previewCorpus,
  type PreviewDocument,
  fingerprintCorpus,
  readTextFile,
  corpusLimits,
  formatBytes,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_DOMAIN_BYTES,
  MAX_FILE_BYTES_ENV,
  MAX_DOMAIN_BYTES_ENV,
  type Corpus,
  type CorpusSource,
  type CorpusFingerprint,
  type CorpusFileInfo,
  type CorpusLimits,
  type SkippedFile,
  type Document,
  type DomainSpec
} from './corpus'
export { splitDocuments, SPLITS, DEFAULT_SPLIT_RATIOS, DEFAULT_SPLIT_SEED, type SplitAssignment, type SplitName, type SplitOptions } from './split'
export {
  tokenizeDomain,
  loadTokenizedDomain,
  domainStats,
  findCachedDomain,
  renameCachedDomain,
  cacheKey,
  type CacheHeader,
  type SplitStats,
  type TokenArray,
  type TokenizedDomain,
  type TokenizedSplit,
  type TokenizeDomainOptions
} from './cache'
export { BlockBatcher, EpochIterator, type Batch, type BatcherOptions, type IteratorState, type ModelStyle, type PromptMode, type TokenIdSource } from './batches'
export {
  chunkPassages,
  buildClassificationTask,
  buildTaggingTask,
  assertNoLeakage,
  writeTask,
  readTaskSplit,
  type ClassificationExample,
  type TaggingExample,
  type TaskManifest,
  type TaskKind,
  type TaskSplitInfo
} from './tasks'
export { Rng, hash53, unitHash } from './rng'
export {
  ensureDefaultStream,
  readStreamManifest,
  DEFAULT_DOMAINS,
  DEFAULT_STREAM_SPLIT,
  GENRE_LABELS,
  type DefaultDomainName,
  type DefaultStreamOptions,
  type StreamDomain,
  type StreamManifest,
  type StreamTask
} from './default-stream'
