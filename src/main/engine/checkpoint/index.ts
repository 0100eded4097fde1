// Checkpoints: safetensors I/O, the atomic checkpoint directory format, and its errors.
export { CheckpointError, type CheckpointErrorCode } from './errors'
export { type JsonObject, type JsonValue } from './json'
export {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  encodeSafetensors,
  toFloat32,
  toInt32,
  numel,
  DTYPE_BYTES,
  type DType,
  type StoredTensor,
  type TensorInput,
  type TensorInfo,
  type SafetensorsContents,
  type SafetensorsHeader
} from './safetensors'
export {
  saveCheckpoint,
  loadCheckpoint,
  listCheckpointFiles,
  verifyCheckpoint,
  checkpointSha256,
  isCheckpointDir,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CHECKPOINT_FILES,
  type CheckpointConfigFile,
  type CheckpointFileInfo,
  type CheckpointWriteResult,
  type LoadedCheckpoint,
  type LoadCheckpointOptions,
  type SaveCheckpointInput,
  type SaveCheckpointOptions,
  type TokenizerSource,
  type VerifyResult
} from './checkpoint'
export { writeDirAtomic, recoverDir, type AtomicWriteHooks } from './atomic'
