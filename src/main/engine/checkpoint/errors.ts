/** Machine-readable reasons a checkpoint or export could not be written or read. */
export type CheckpointErrorCode =
  | 'NOT_FOUND'
  | 'MISSING_FILE'
  | 'BAD_JSON'
  | 'SAFETENSORS'
  | 'FORMAT'
  | 'FORMAT_VERSION'
  | 'BAD_CONFIG'
  | 'SHAPE_MISMATCH'
  | 'TOKENIZER'
  | 'TOKENIZER_MISMATCH'
  | 'BAD_INPUT'
  | 'NOT_REPLACEABLE'
  | 'HASH_MISMATCH'
  | 'UNSUPPORTED'

/** Every checkpoint, safetensors and export failure; the message names the file and the tensor or field. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode
  readonly file?: string
  /** Tensor name or config field the problem is about, when there is one. */
  readonly field?: string

  constructor(code: CheckpointErrorCode, message: string, where?: { file?: string; field?: string }) {
    super(message)
    this.name = 'CheckpointError'
    this.code = code
    this.file = where?.file
    this.field = where?.field
  }
}
