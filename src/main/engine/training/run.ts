// Executes one run of the store: loads its config and data, builds (or restores) the model, and drives
// the training loop with the workbench's plugins. Runs in a worker thread; the serving thread only
// hears progress and the outcome. Status changes are the host's job, so events come from one place.
import { createHash } from 'node:crypto'
import * as tf from '@tensorflow/tfjs'
import fs from 'node:fs'
import path from 'node:path'
import { selectBackend, type BackendRequest } from '../backend/select'
import { loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint'
import { restoreModel } from '../checkpoint/restore'
import type { JsonObject } from '../checkpoint/json'
import type { Weights } from '../model'
import { makeModelConfig, TransformerModel, type AdamWState, type ModelConfig } from '../model'
import { ExperimentStore, LeaseLostError } from '../store/store'
import { busyPolicy, DiskFullError, isDiskFullError, whenStoreFree, type BusyPolicy } from '../store/busy'
import type { RunProgress } from '../../../shared/contract'
import { parseRunConfig, type RunConfig } from './config'
import { methodPlugins } from '../methods/registry'
import { loadRunData } from './data'
import { NonFiniteLossError, TrainingLoop } from './loop'
import type { LoopState, TrainingContext } from './plugin-api'
import { loadPluginStates, savePluginStates } from './plugin-state'
import { CheckpointPlugin, type SaveCheckpoint, type SavedCheckpoint } from './plugins/checkpoints'
import { MetricsPlugin, type SavedDocs } from './plugins/metrics'
import { ProgressPlugin } from './plugins/progress'
import { GpuPageGradients, type GpuPageTransport } from './gpu-page-gradients'
import { ReplicaPool, replicaBackend } from './parallel'
import { trainingWorkerResourceLimits } from '../resources'
import { StagesPlugin } from './plugins/stages'

export interface TrainingJob {
  runId: number
  dbPath: string
  dataDir: string
  backend: BackendRequest
  /** the trainer host that owns the run: every write of the worker is conditional on it still owning it */
  owner?: string
  busy?: BusyPolicy
  /** the host's GPU page this run computes its gradients on (Electron's GPU window; requests go through RunCallbacks.gpu) */
  gpu?: { device: string } | null
}

export type RunOutcome =
  | { status: 'finished'; checkpoint: string | null }
  | { status: 'cancelled'; checkpoint: string | null }
  | { status: 'failed'; error: string; checkpoint: string | null }
  /** another process took the run over; this worker stopped without writing (no status change either) */
  | { status: 'lost'; error: string; checkpoint: null }

export interface RunCallbacks {
  progress(progress: RunProgress): void
  log(message: string): void
  /** the host's GPU page, through the host (when the job has `gpu`) */
  gpu?: GpuPageTransport
}

/** What a checkpoint's state.json holds for the loop. */
interface SavedRunState {
  loop: LoopState
  /** per-domain perplexity at the end of its own stage (AP+ reference) */
  apReference: Record<string, number>
  /** per-document end-of-stage validations (absent in checkpoints written before the intervals) */
  apReferenceDocs?: Record<string, SavedDocs>
  /** each stateful plugin's saveState(), by plugin name, tensors in plugins.safetensors (growth has its own key, read by every checkpoint user) */
  plugins: Record<string, unknown>
  growth?: unknown
}

/** Plain data (numbers, strings, arrays, objects) as the checkpoint's JSON type. */
const toJson = (value: object): JsonObject => JSON.parse(JSON.stringify(value)) as JsonObject

/** A store's own folder name under the data directory: several stores may share one data directory
 *  (`--db`, tests), and each numbers its runs and jobs from 1. */
export const storeFolderName = (dbPath: string): string =>
  `${path
    .basename(dbPath)
    .replace(/\.[^.]*$/, '')
    .replace(/[^\w-]/g, '_')}-${createHash('sha256').update(path.resolve(dbPath)).digest('hex').slice(0, 8)}`

/** Where a run's checkpoints live, keyed by the store as well as the run. */
export const runDirOf = (dataDir: string, dbPath: string, runId: number): string => path.join(dataDir, 'runs', storeFolderName(dbPath), String(runId))

/** The run's initial model config: its model shape at the run's sequence length. */
export function modelConfigFor(config: RunConfig, vocabSize: number): ModelConfig {
  return makeModelConfig(config.model.kind, { ...config.model, vocabSize, maxLength: config.training.seqLen })
}

export class RunController {
  private loop: TrainingLoop | null = null
  private cancelled = false
  private lost = false

  cancel(): void {
    this.cancelled = true
    this.loop?.requestStop()
  }

  /** The host found another process owns the run now: stop, and write nothing more. */
  lose(): void {
    this.lost = true
    this.loop?.requestStop()
  }

  async execute(job: TrainingJob, callbacks: RunCallbacks): Promise<RunOutcome> {
    const store = ExperimentStore.open(job.dbPath)
    const busy = job.busy ?? busyPolicy()
    store.db.pragma(`busy_timeout = ${Math.round(busy.busyTimeoutMs)}`)
    const { owner } = job
    const write = <T>(fn: () => T): Promise<T> => whenStoreFree(store.path, busy, fn)
    let checkpoints: CheckpointPlugin | null = null
    let pool: ReplicaPool | null = null
    try {
      await selectBackend(job.backend)
      const run = store.getRun(job.runId)
      const config = parseRunConfig(store.getExperimentConfig(run.experimentId), `experiment ${run.experimentId} config`)
      const runDir = runDirOf(job.dataDir, job.dbPath, job.runId)
      fs.mkdirSync(runDir, { recursive: true })

      callbacks.log('preparing data')
      // refuses a domain too small for this run's shape by name, instead of failing inside the batcher
      const shape = { kind: config.model.kind, seqLen: config.training.seqLen, prompts: config.training.prompts }
      const data = await loadRunData(
        store,
        job.dataDir,
        config.stages.map((s) => s.domain),
        callbacks.log,
        shape
      )
      // Resume from the newest checkpoint of this run, if any; its model may have grown since the start.
      let model: TransformerModel
      let state: LoopState | undefined
      let optimizerState: AdamWState | null = null
      let apReference: Record<string, number> = {}
      let apReferenceDocs: Record<string, SavedDocs> = {}
      let pluginStates: Record<string, unknown> = {}
      let pluginTensors: Weights = {}
      let resumedFrom = ''
      let latest: SavedCheckpoint | null = null
      let resumedFromPeriodic = false
      const newest = store.listCheckpoints(job.runId).at(-1)
      if (newest) {
        callbacks.log(`resuming from ${newest.path} (step ${newest.step})`)
        const loaded = await loadCheckpoint(newest.path)
        model = restoreModel(loaded)
        const saved = loaded.state as unknown as SavedRunState
        state = saved.loop
        apReference = saved.apReference
        apReferenceDocs = saved.apReferenceDocs ?? {}
        pluginStates = { ...saved.plugins, ...(saved.growth !== undefined ? { growth: saved.growth } : {}) }
        pluginTensors = loaded.pluginTensors
        resumedFrom = `checkpoint ${newest.path}`
        optimizerState = loaded.optimizerState
        latest = { id: newest.id, path: newest.path, step: newest.step }
        // a mid-stage checkpoint is replaced by the next one, as if the run had never stopped
        resumedFromPeriodic = loaded.training.reason !== 'stage-end'
      } else model = new TransformerModel(modelConfigFor(config, data.tokenizer.vocabSize), { seed: config.training.seed })

      const methods = methodPlugins(config)
      const stages = new StagesPlugin(store, job.runId, owner, busy)
      const metrics = new MetricsPlugin(store, job.runId, apReference, owner, busy, apReferenceDocs)
      const save: SaveCheckpoint = async (ctx: TrainingContext, reason) => {
        const step = ctx.state.globalStep
        // Everything up to this step must be in the store before a checkpoint says the step is done.
        await metrics.flushNow()
        // Never write into the run's folder once another process trains it (it writes the same folders).
        if (this.lost || (owner !== undefined && !store.ownsRun(job.runId, owner)))
          throw new LeaseLostError(`run ${job.runId} is no longer owned by this process; no checkpoint was written`)
        const dir = path.join(runDir, 'checkpoints', `step-${String(step).padStart(8, '0')}`)
        const { json: pluginJson, tensors } = await savePluginStates(methods)
        const { growth, ...plugins } = pluginJson
        const runState: SavedRunState = { loop: ctx.state, apReference: metrics.reference, apReferenceDocs: metrics.referenceDocs, plugins, growth }
        const written = await saveCheckpoint(dir, {
          config: ctx.model.config,
          weights: await ctx.model.readWeights(),
          // a new stage starts with a fresh optimizer, so only a mid-stage stop needs the moments, unless the
          // optimizer grows with the model: then the next stage starts from the finished stage's moments
          optimizerState: !ctx.trainer || (reason === 'stage-end' && config.growth.optimizer !== 'grow') ? undefined : await ctx.trainer.optimizer.readState(),
          tokenizer: ctx.tokenizer,
          state: toJson(runState),
          pluginTensors: tensors,
          experiment: toJson(config),
          training: { reason, runId: job.runId }
        })
        const stageIndex = Math.min(reason === 'stage-end' ? ctx.state.stageIndex - 1 : ctx.state.stageIndex, ctx.stages.length - 1)
        const row = await write(() =>
          store.addCheckpoint({ runId: job.runId, stageId: stages.stageId(stageIndex), step, path: written.path, bytes: written.bytes, sha256: written.sha256 }, owner)
        )
        return { id: row.id, path: written.path, step }
      }
      checkpoints = new CheckpointPlugin(save, (c) => write(() => store.deleteCheckpoint(c.id, owner)), config.training.checkpointEvery, latest, resumedFromPeriodic)
      const gpu = job.gpu && callbacks.gpu ? gpuPageGradients(job.gpu.device, callbacks.gpu, config, callbacks.log) : null
      pool = gpu ? null : await startReplicas(config, callbacks.log)
      const workers = 1 + (pool?.replicas ?? 0)
      const progress = new ProgressPlugin(job.runId, (p) => callbacks.progress({ ...p, workers }))

      loadPluginStates(methods, pluginStates, pluginTensors, resumedFrom)
      // Methods shape the updates; services record them (metrics see the final micro-batches, checkpoints the final state).
      const loop = new TrainingLoop({
        config,
        model,
        data,
        plugins: [...methods, stages, metrics, checkpoints, progress],
        state,
        optimizerState,
        shards: gpu ?? pool,
        evaluation: pool
      })
      this.loop = loop
      await stages.ensure(loop.stages)
      if (this.cancelled || this.lost) loop.requestStop()
      try {
        const completed = await loop.run()
        if (this.lost) return lostOutcome(job.runId)
        if (!completed) {
          const saved = loop.state.globalStep > (checkpoints.latest?.step ?? -1) ? await checkpoints.saveNow(loop) : checkpoints.latest
          return { status: 'cancelled', checkpoint: saved?.path ?? null }
        }
        return { status: 'finished', checkpoint: checkpoints.latest?.path ?? null }
      } finally {
        loop.dispose()
        model.dispose()
      }
    } catch (error) {
      if (this.lost || error instanceof LeaseLostError) return lostOutcome(job.runId)
      const last = checkpoints?.latest ? `; last good checkpoint: ${checkpoints.latest.path} (step ${checkpoints.latest.step})` : '; no checkpoint was written yet'
      if (error instanceof NonFiniteLossError) return { status: 'failed', error: `${error.message}${last}`, checkpoint: checkpoints?.latest?.path ?? null }
      if (isDiskFullError(error)) {
        const where =
          (error as { code?: string }).code === 'SQLITE_FULL' ? `the experiment store ${store.path}` : `the run's checkpoints in ${runDirOf(job.dataDir, job.dbPath, job.runId)}`
        return { status: 'failed', error: `${new DiskFullError(where, job.runId).message}${last}`, checkpoint: checkpoints?.latest?.path ?? null }
      }
      return { status: 'failed', error: `${error instanceof Error ? error.message : String(error)}${last}`, checkpoint: checkpoints?.latest?.path ?? null }
    } finally {
      await pool?.dispose()
      store.close()
    }
  }
}

/**
 * Why a run configured for several workers trains in one thread, or null when it can share its
 * micro-batches. Every method shards: EWC/MAS penalties and A-GEM's projection work on the coordinator's
 * model and its summed gradient, the replicas hold logit-KD's teacher and rebuild PNN's columns and
 * laterals; only a backend that is not one of tfjs's CPU backends keeps a run in one thread.
 */
export function parallelFallback(backend: string | null): string | null {
  if (backend === null) return `backend ${tf.getBackend()}: data-parallel threads are for the CPU backends (wasm, wasm-native, cpu); this one parallelises inside its kernels`
  return null
}

/** The host's GPU page as the run's gradient replica: it computes every micro-batch; this worker keeps the rest. */
function gpuPageGradients(device: string, transport: GpuPageTransport, config: RunConfig, log: (message: string) => void): GpuPageGradients {
  const workers = config.training.workers > 1 ? `; training.workers (${config.training.workers}) is not used: the GPU window replaces the replica threads` : ''
  log(
    `gradients on the GPU window (${device}): the window computes every micro-batch's gradients, this worker keeps the model, the optimizer, validation and checkpoints on ${tf.getBackend()}${workers}`
  )
  return new GpuPageGradients(transport, { label: `the GPU window (${device})` })
}

/** The run's replica threads (training.workers − 1), or null for one thread; a fallback is logged with its reason. */
async function startReplicas(config: RunConfig, log: (message: string) => void): Promise<ReplicaPool | null> {
  const workers = config.training.workers
  if (workers <= 1) return null
  const backend = replicaBackend()
  const why = parallelFallback(backend)
  if (why || !backend) {
    log(`training.workers is ${workers}, but this run trains in 1 worker: ${why}`)
    return null
  }
  let pool: ReplicaPool
  try {
    pool = await ReplicaPool.start({ replicas: workers - 1, backend, resourceLimits: trainingWorkerResourceLimits(config) })
  } catch (error) {
    log(`training.workers is ${workers}, but this run trains in 1 worker: the replica threads did not start (${error instanceof Error ? error.message : String(error)})`)
    return null
  }
  const dropout = config.model.dropout > 0 ? ' (dropout: each shard draws its own masks, so the run is not bit-comparable with a 1-worker run)' : ''
  log(`data-parallel: ${workers} workers on ${backend}, each micro-batch split by rows, gradients weighted by target counts${dropout}`)
  return pool
}

const lostOutcome = (runId: number): RunOutcome => ({
  status: 'lost',
  error: `run ${runId} was taken over by another process while this one had stalled; it stopped here without writing anything more`,
  checkpoint: null
})
