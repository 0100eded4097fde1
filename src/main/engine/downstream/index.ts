/** Downstream evaluation: fine-tuning checkpoints on the default stream's labelled tasks, and the forgetting matrix of a run. */
export { DEFAULT_TASK_NAMES, DownstreamError, findTask, listTasks, primaryTask, type DownstreamErrorCode, type DownstreamTask } from './tasks'
export {
  contentBudget,
  encodeClassification,
  encodePrefix,
  encodeTagging,
  layOut,
  makeBatch,
  wordPieces,
  type EncodedExample,
  type InputBatch,
  type LaidOut,
  type Layout
} from './encode'
export { accuracyOf, confusionMatrix, macroF1Of, meanStd, transferOf, type MeanStd, type Transfer } from './metrics'
export { DEFAULT_FINETUNE, finetuneOnce, majorityBaseline, resolveSettings, type FinetuneInput, type FinetuneOutcome, type FinetuneSettings, type SeedScore } from './finetune'
export { findStoredCheckpoint, seenDomains, stageEndCheckpoints, wrongPromptSlot, type StageEnd } from './checkpoints'
export {
  DEFAULT_SEEDS,
  MAX_SEEDS,
  evaluateRunDownstream,
  finetuneCheckpoint,
  finetuneUntrained,
  metricName,
  METRICS,
  PROMPT_CHOICES,
  seedList,
  type DownstreamMatrixReport,
  type DownstreamMetric,
  type FinetuneOptions,
  type FinetuneReport,
  type MatrixCell,
  type MetricMatrix,
  type PromptChoice,
  type RunDownstreamOptions
} from './evaluate'
