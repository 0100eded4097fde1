/** Machine-readable reasons a corpus, cache or tokenizer could not be used. */
export type DataErrorCode =
  | 'NOT_FOUND'
  | 'NOT_REGULAR'
  | 'TOO_LARGE'
  | 'TOO_SMALL'
  | 'EMPTY_FILE'
  | 'BINARY_FILE'
  | 'INVALID_UTF8'
  | 'NO_TEXT_FILES'
  | 'JSONL_PARSE'
  | 'JSONL_FIELD'
  | 'EMPTY_CORPUS'
  | 'BAD_OPTION'
  | 'TOKENIZER'
  | 'CACHE'

/** Every data-layer failure the user can fix (bad file, bad option) is a DataError with a stable code. */
export class DataError extends Error {
  readonly code: DataErrorCode
  /** The file (and line, for JSONL) the problem was found in, when there is one. */
  readonly file?: string
  readonly line?: number

  constructor(code: DataErrorCode, message: string, where?: { file?: string; line?: number }) {
    super(message)
    this.name = 'DataError'
    this.code = code
    this.file = where?.file
    this.line = where?.line
  }
}
