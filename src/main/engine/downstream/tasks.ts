// The labelled tasks fine-tuning can run on, named `<domain>-<task>` (press-genre, press-pos, email-spam...),
// as the data layer builds them for the default stream (docs/data.md, "Tasks").
import fs from 'node:fs'
import path from 'node:path'
import { DEFAULT_DOMAINS, readTaskSplit, type ClassificationExample, type SplitName, type StreamManifest, type TaggingExample, type TaskKind } from '../data'

export interface DownstreamTask {
  /** `<domain>-<task>`, e.g. `press-genre`. */
  name: string
  domain: string
  /** The data layer's task name (genre, spam, pos). */
  task: string
  kind: TaskKind
  labels: string[]
  /** The domain's prompt slot. */
  promptSlot: number
  /** Absolute folder of the task's JSONL splits. */
  dir: string
  /** Examples (classification) or tagged words (tagging) per label in the train split. */
  trainLabelCounts: Record<string, number>
}

export type DownstreamErrorCode = 'UNKNOWN_TASK' | 'UNSEEN_DOMAIN' | 'BAD_OPTION' | 'TOKENIZER_MISMATCH' | 'NO_STAGES'

/** Bad input to fine-tuning; thrown before anything is trained or stored. */
export class DownstreamError extends Error {
  constructor(
    readonly code: DownstreamErrorCode,
    message: string
  ) {
    super(message)
    this.name = 'DownstreamError'
  }
}

/**
 * The default stream's task names, for help texts (the prepared stream's manifest is the authority;
 * a test checks the two agree). Learned is one genre, so POS is its only task; e-mail has no POS tags.
 */
export const DEFAULT_TASK_NAMES: readonly string[] = DEFAULT_DOMAINS.flatMap((d) =>
  d === 'email' ? ['email-spam'] : d === 'learned' ? ['learned-pos'] : [`${d}-genre`, `${d}-pos`]
)

export function listTasks(manifest: StreamManifest): DownstreamTask[] {
  return manifest.domains.flatMap((d) =>
    d.tasks.map((t) => ({
      name: `${d.name}-${t.name}`,
      domain: d.name,
      task: t.name,
      kind: t.kind,
      labels: [...t.labels],
      promptSlot: d.promptSlot,
      dir: t.dir,
      trainLabelCounts: { ...t.splits.train.labelCounts }
    }))
  )
}

/** The task called `name`; unknown names are refused with the list of known ones. */
export function findTask(manifest: StreamManifest, name: string): DownstreamTask {
  const tasks = listTasks(manifest)
  const task = tasks.find((t) => t.name === name)
  if (!task) throw new DownstreamError('UNKNOWN_TASK', `unknown task "${name}"; known tasks: ${tasks.map((t) => t.name).join(', ')}`)
  return task
}

/** The task a domain is scored on in the forgetting matrix: its classification task, else POS. */
export function primaryTask(manifest: StreamManifest, domain: string): DownstreamTask | null {
  const tasks = listTasks(manifest).filter((t) => t.domain === domain)
  return tasks.find((t) => t.kind === 'classification') ?? tasks[0] ?? null
}

export type TaskExample = ClassificationExample | TaggingExample

// Task files never change once written (a new preparation writes a new manifest), so one read per
// process serves every seed and checkpoint; the file's size and mtime guard against a re-preparation.
const examplesCache = new Map<string, { stamp: string; examples: TaskExample[] }>()

export function readTaskExamples(task: Pick<DownstreamTask, 'dir'>, split: SplitName): TaskExample[] {
  const file = path.join(task.dir, `${split}.jsonl`)
  const stat = fs.existsSync(file) ? fs.statSync(file) : null
  const stamp = stat ? `${stat.size}:${stat.mtimeMs}` : ''
  const hit = examplesCache.get(file)
  if (hit && hit.stamp === stamp) return hit.examples
  const examples = readTaskSplit<TaskExample>(task.dir, split)
  examplesCache.set(file, { stamp, examples })
  return examples
}
