/**
 * Labelled downstream tasks built from a corpus's own labels, for the evaluation stage.
 *
 * No-leakage rule: every example inherits the pre-training split of the document it was cut from.
 * Task train = passages/sentences of pre-training TRAIN documents; task validation/test = those of the
 * pre-training validation/test documents. So no document seen in pre-training validation/test is ever in
 * a task's training set, and no task-training document is in pre-training validation/test.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { DataError } from './errors'
import { SPLITS, type SplitAssignment, type SplitName } from './split'

export interface ClassificationExample {
  id: string
  docId: string
  text: string
  label: string
}

export interface TaggingExample {
  id: string
  docId: string
  words: string[]
  tags: string[]
}

export type TaskKind = 'classification' | 'tagging'

export interface TaskSplitInfo {
  examples: number
  documents: number
  /** Classification: examples per label. Tagging: tokens per tag. */
  labelCounts: Record<string, number>
}

export interface TaskManifest {
  name: string
  domain: string
  kind: TaskKind
  description: string
  labels: string[]
  splits: Record<SplitName, TaskSplitInfo>
  /** JSONL file per split, relative to the task folder. */
  files: Record<SplitName, string>
}

export interface PassageOptions {
  /** Words per passage. Default 192 (within the 128-256 the evaluation expects). */
  passageWords?: number
  /** Cap per document so a few very long documents do not dominate. Default 12. */
  maxPassagesPerDoc?: number
}

export const DEFAULT_PASSAGE_WORDS = 192
export const DEFAULT_MAX_PASSAGES = 12

/**
 * Cut text into passages of about `passageWords` whitespace-separated words, keeping the original
 * spacing inside a passage. A short tail (< half a passage) joins the previous passage.
 */
export function chunkPassages(text: string, passageWords = DEFAULT_PASSAGE_WORDS): string[] {
  const starts: number[] = []
  for (const m of text.matchAll(/\S+/g)) starts.push(m.index)
  if (starts.length === 0) return []
  const cuts: number[] = []
  for (let w = 0; w < starts.length; w += passageWords) cuts.push(w)
  if (cuts.length > 1 && starts.length - (cuts[cuts.length - 1] as number) < passageWords / 2) cuts.pop()
  return cuts.map((w, i) => {
    const from = starts[w] as number
    const next = cuts[i + 1]
    const to = next === undefined ? text.length : (starts[next] as number)
    return text.slice(from, to).trim()
  })
}

function splitOfDoc(splits: SplitAssignment): Map<string, SplitName> {
  const m = new Map<string, SplitName>()
  for (const s of SPLITS) for (const id of splits[s]) m.set(id, s)
  return m
}

/** Passages labelled with their document's label, split by the document's pre-training split. */
export function buildClassificationTask(
  docs: ReadonlyArray<{ id: string; text: string; label: string }>,
  splits: SplitAssignment,
  opts: PassageOptions = {}
): Record<SplitName, ClassificationExample[]> {
  const where = splitOfDoc(splits)
  const out: Record<SplitName, ClassificationExample[]> = { train: [], validation: [], test: [] }
  const maxP = opts.maxPassagesPerDoc ?? DEFAULT_MAX_PASSAGES
  for (const d of docs) {
    const s = where.get(d.id)
    if (!s) throw new DataError('BAD_OPTION', `task document ${d.id} is in no pre-training split`)
    chunkPassages(d.text, opts.passageWords ?? DEFAULT_PASSAGE_WORDS)
      .slice(0, maxP)
      .forEach((text, i) => out[s].push({ id: `${d.id}#${i}`, docId: d.id, text, label: d.label }))
  }
  return out
}

/** Sentence-level tagging examples split by their document's pre-training split. */
export function buildTaggingTask(
  docs: ReadonlyArray<{ id: string; sentences: ReadonlyArray<{ words: string[]; tags: string[] }> }>,
  splits: SplitAssignment
): Record<SplitName, TaggingExample[]> {
  const where = splitOfDoc(splits)
  const out: Record<SplitName, TaggingExample[]> = { train: [], validation: [], test: [] }
  for (const d of docs) {
    const s = where.get(d.id)
    if (!s) throw new DataError('BAD_OPTION', `task document ${d.id} is in no pre-training split`)
    d.sentences.forEach((sent, i) => out[s].push({ id: `${d.id}#${i}`, docId: d.id, words: sent.words, tags: sent.tags }))
  }
  return out
}

/** Throws if any example's document is in a different pre-training split than the example. */
export function assertNoLeakage(task: Record<SplitName, ReadonlyArray<{ docId: string }>>, splits: SplitAssignment): void {
  const where = splitOfDoc(splits)
  for (const s of SPLITS) {
    for (const ex of task[s]) {
      if (where.get(ex.docId) !== s) {
        throw new DataError('BAD_OPTION', `leakage: task ${s} example from document ${ex.docId} (pre-training ${where.get(ex.docId) ?? 'none'})`)
      }
    }
  }
}

function info(examples: ReadonlyArray<ClassificationExample | TaggingExample>): TaskSplitInfo {
  const labelCounts: Record<string, number> = {}
  for (const ex of examples) {
    const labels = 'label' in ex ? [ex.label] : ex.tags
    for (const l of labels) labelCounts[l] = (labelCounts[l] ?? 0) + 1
  }
  return { examples: examples.length, documents: new Set(examples.map((e) => e.docId)).size, labelCounts }
}

/** Write a task as <dir>/{train,validation,test}.jsonl plus task.json; returns the manifest. */
export function writeTask(
  dir: string,
  meta: { name: string; domain: string; kind: TaskKind; description: string; labels?: string[] },
  examples: Record<SplitName, ReadonlyArray<ClassificationExample | TaggingExample>>
): TaskManifest {
  fs.mkdirSync(dir, { recursive: true })
  const splits = {} as Record<SplitName, TaskSplitInfo>
  const files = {} as Record<SplitName, string>
  const seen = new Set<string>()
  for (const s of SPLITS) {
    files[s] = `${s}.jsonl`
    fs.writeFileSync(path.join(dir, files[s]), examples[s].map((e) => JSON.stringify(e)).join('\n') + (examples[s].length ? '\n' : ''))
    splits[s] = info(examples[s])
    for (const l of Object.keys(splits[s].labelCounts)) seen.add(l)
  }
  const manifest: TaskManifest = { ...meta, labels: meta.labels ?? [...seen].sort(), splits, files }
  fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify(manifest, null, 2))
  return manifest
}

/** Read one split of a task written by writeTask. */
export function readTaskSplit<T extends ClassificationExample | TaggingExample>(dir: string, split: SplitName): T[] {
  const file = path.join(dir, `${split}.jsonl`)
  if (!fs.existsSync(file)) throw new DataError('NOT_FOUND', `task split not found: ${file}`, { file })
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T)
}
