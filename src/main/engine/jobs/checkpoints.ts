// checkpoints.list: a run's checkpoint rows with what their config.json says (model shape, parameter count,
// why it was written). A folder that is gone or unreadable is listed with the problem instead of failing.
import fs from 'node:fs'
import path from 'node:path'
import type { CheckpointSummary, ModelShape } from '../../../shared/contract'
import { CHECKPOINT_FILES } from '../checkpoint/checkpoint'
import { parameterCount, validateModelConfig, type ModelConfig } from '../model/config'
import type { ExperimentStore } from '../store/store'

const REASONS = ['stage-end', 'periodic', 'stopped'] as const

function readConfig(dir: string): { model: ModelConfig; reason: CheckpointSummary['reason'] } {
  const raw = JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_FILES.config), 'utf8')) as { model?: unknown; training?: { reason?: unknown } }
  const model = validateModelConfig({ ...(raw.model as ModelConfig) })
  const reason = REASONS.find((r) => r === raw.training?.reason) ?? null
  return { model, reason }
}

export function listRunCheckpoints(store: ExperimentStore, runId: number): CheckpointSummary[] {
  store.getRun(runId) // an unknown run is not_found, not an empty list
  const stages = new Map(store.listStages(runId).map((s) => [s.id, s]))
  const rows = store.listCheckpoints(runId)
  return rows.map((c, i) => {
    const stage = c.stageId === null ? undefined : stages.get(c.stageId)
    let model: ModelShape | null = null
    let parameters: number | null = null
    let reason: CheckpointSummary['reason'] = null
    let problem: string | null = null
    try {
      const read = readConfig(c.path)
      const { kind, layers, heads, hidden, ffn, vocabSize, maxLength } = read.model
      model = { kind, layers, heads, hidden, ffn, vocabSize, maxLength }
      parameters = parameterCount(read.model)
      reason = read.reason
    } catch (error) {
      problem = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${c.path} is gone` : `${c.path}: ${error instanceof Error ? error.message : String(error)}`
    }
    return {
      id: c.id,
      runId: c.runId,
      step: c.step,
      reason,
      latest: i === rows.length - 1,
      stageIndex: stage?.index ?? null,
      domain: stage?.domain ?? null,
      path: c.path,
      bytes: c.bytes,
      sha256: c.sha256,
      createdAt: c.createdAt,
      model,
      parameters,
      problem
    }
  })
}
