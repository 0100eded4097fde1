// From a job starter's params (the contract's) to a job: the kind, the params it records, and what the
// worker gets (checkpoint and run ids resolved, output folders defaulted). Unknown ids are refused here,
// before anything is stored.
import fs from 'node:fs'
import path from 'node:path'
import { storeFolderName } from '../training/run'
import type { z } from 'zod'
import { ApiError, type JobKind, type jobParams } from '../../../shared/contract'
import { CHECKPOINT_FILES } from '../checkpoint/checkpoint'
import type { ExperimentStore } from '../store/store'

export type JobMethod = keyof typeof jobParams
export type JobParams<M extends JobMethod> = z.infer<(typeof jobParams)[M]>

export const JOB_KIND_OF: Record<JobMethod, JobKind> = {
  'checkpoints.evaluate': 'evaluate',
  'checkpoints.finetune': 'finetune',
  'runs.forgetting': 'forgetting',
  'checkpoints.grow': 'grow',
  'checkpoints.export': 'export',
  'checkpoints.import': 'import',
  'streams.prepareDefault': 'stream.prepare'
}

export interface JobRequest {
  kind: JobKind
  params: Record<string, unknown>
  work: (jobId: number) => Record<string, unknown>
}

export function jobRequest<M extends JobMethod>(store: ExperimentStore, dataDir: string, method: M, raw: JobParams<M>): JobRequest {
  const params = { ...(raw as Record<string, unknown>) }
  const kind = JOB_KIND_OF[method]
  let checkpointPath: string | undefined
  if (typeof params.checkpointId === 'number') checkpointPath = store.getCheckpoint(params.checkpointId).path
  if (typeof params.checkpointPath === 'string') checkpointPath = params.checkpointPath = checkpointFolder(params.checkpointPath)
  if (typeof params.runId === 'number') store.getRun(params.runId)
  for (const key of ['outDir', 'path', 'textPath'] as const) if (typeof params[key] === 'string') params[key] = path.resolve(params[key])
  return {
    kind,
    params,
    work: (jobId) => {
      const work: Record<string, unknown> = { ...params, checkpointPath }
      // a grown or imported checkpoint needs a folder: a new one per job under the data directory, keyed by
      // the store too (stores sharing a data directory each number their jobs from 1)
      const own = storeFolderName(store.path)
      if (kind === 'grow' && work.outDir === undefined)
        work.outDir = path.join(dataDir, 'grown', own, `${typeof params.checkpointId === 'number' ? `checkpoint-${params.checkpointId}` : 'checkpoint'}-job-${jobId}`)
      if (kind === 'import' && work.outDir === undefined) work.outDir = path.join(dataDir, 'imported', own, `job-${jobId}`)
      return work
    }
  }
}

/**
 * A checkpoint folder given by path (checkpointPath), absolute, checked before the job is recorded: a
 * missing folder is not_found, anything else that is not a checkpoint folder a bad request naming the field.
 */
export function checkpointFolder(given: string): string {
  const dir = path.resolve(given)
  let stat: fs.Stats
  try {
    stat = fs.statSync(dir)
  } catch {
    throw new ApiError('not_found', `checkpointPath: no checkpoint folder at ${dir}`)
  }
  if (!stat.isDirectory()) throw new ApiError('bad_request', `checkpointPath: ${dir} is not a folder`)
  if (!fs.existsSync(path.join(dir, CHECKPOINT_FILES.config)))
    throw new ApiError('bad_request', `checkpointPath: ${dir} is not a checkpoint folder (it has no ${CHECKPOINT_FILES.config})`)
  return dir
}

/**
 * The workbench (Electron and browser clients) takes a checkpoint by folder only inside the engine's data
 * directory, where runs, grown and imported checkpoints live: a client cannot point a job at any folder of the
 * machine. Links are resolved first, so one inside the data directory cannot lead out of it. The CLI, run by the
 * machine's user, takes any folder (`elle eval DIR`).
 */
export function checkpointInDataDir(given: string, dataDir: string): void {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p)
    } catch {
      return path.resolve(p)
    }
  }
  const dir = real(given)
  const root = real(dataDir)
  const rel = path.relative(root, dir)
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
    throw new ApiError(
      'bad_request',
      `checkpointPath: ${path.resolve(given)} is outside the data directory ${root}; the workbench takes checkpoints under it only (runs/, grown/, imported/)`
    )
}
