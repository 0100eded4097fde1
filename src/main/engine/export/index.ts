// Exports of checkpoints to other ecosystems (Hugging Face transformers) and imports back.
export {
  exportHuggingFace,
  importHuggingFace,
  toHuggingFaceTensors,
  fromHuggingFaceTensors,
  huggingFaceConfig,
  modelConfigFromHuggingFace,
  assertExportable,
  architectureOf,
  hfRules,
  HF_FILES,
  HF_ACTIVATION,
  LAYER_NORM_EPS,
  type HfArchitecture,
  type HfExportOptions,
  type HfExportResult,
  type HfImportOptions,
  type HfImportResult
} from './huggingface'
