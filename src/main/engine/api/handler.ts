// The engine's side of the contract: validates every request, runs it, and maps engine errors to
// transport-neutral ApiErrors. Both transports (Electron IPC and HTTP) call exactly this.
import pkg from '../../../../package.json'
import type { z } from 'zod'
import { ApiError, contract, describeZodError, parseRequest, type Contract, type MetricSeries, type Method, type Result, type SystemInfo } from '../../../shared/contract'
import { CompareError, compareRunsInSlices, exportCsv, renderReport } from '../compare'
import { SeriesQueryError } from '../series/query'
import { ResumableRunError, type Engine } from '../engine'
import { ConfigError, parseRunConfig } from '../training/config'
import { DomainInputError } from '../training/host'
import { QueueInputError } from '../queue/queue'
import { PRESETS } from '../training/presets'
import { isBusyError, isDiskFullError } from '../store/busy'
import { StoreError, type MetricPoint } from '../store/store'
import { annotateRun, deleteView, getView, listViews, runTableRows, saveView } from '../store/run-table'
import { checkpointInDataDir } from '../jobs/start'

type Handlers = { [M in Method]: (params: z.infer<Contract[M]['params']>) => Result<M> | Promise<Result<M>> }

export type ApiHandler = (method: unknown, params: unknown) => Promise<unknown>

export function createApiHandler(engine: Engine, mode: SystemInfo['mode']): ApiHandler {
  // a detached (grown, imported) checkpoint by folder: from a workbench client, only inside the data directory
  const local = <P extends { checkpointPath?: string }>(p: P): P => {
    if (mode !== 'cli' && p.checkpointPath !== undefined) checkpointInDataDir(p.checkpointPath, engine.dataDir)
    return p
  }
  const handlers: Handlers = {
    'system.info': () => ({
      version: pkg.version,
      backend: engine.backend,
      store: { path: engine.store.path, schemaVersion: engine.store.schemaVersion },
      mode
    }),
    'runs.list': (p) => ({ runs: engine.store.listRuns(p) }),
    'runs.get': (p) => engine.store.getRunDetail(p.id),
    'runs.start': (p) => engine.startRun(p.config, { fresh: p.fresh, stream: p.stream }),
    'runs.resume': (p) => engine.resumeRun(p.id),
    'runs.cancel': (p) => engine.cancelRun(p.id),
    'runs.progress': (p) => ({ progress: engine.host.progressOf(engine.store.getRun(p.id).id) }),
    'runs.metrics': (p) => ({ series: metricSeries(engine.store.readMetrics(engine.store.getRun(p.id).id), p.names, p.maxPoints ?? 2000) }),
    'runs.series': (p) => {
      try {
        return engine.series(p)
      } catch (error) {
        throw error instanceof SeriesQueryError ? new ApiError('bad_request', `runs.series: ${error.message}`) : error
      }
    },
    // in slices: a curves redraw asked meanwhile is answered between two runs, not after all of them
    'runs.compare': async (p) => {
      try {
        return await compareRunsInSlices(engine.store, p.ids)
      } catch (error) {
        throw error instanceof CompareError ? new ApiError('bad_request', `runs.compare: ${error.message}`) : error
      }
    },
    'runs.exportCsv': (p) => {
      try {
        return exportCsv(engine.store, p.ids, p.metrics)
      } catch (error) {
        throw error instanceof CompareError ? new ApiError('bad_request', `runs.exportCsv: ${error.message}`) : error
      }
    },
    'runs.report': async (p) => {
      try {
        if (p.reference !== undefined && !p.ids.includes(p.reference))
          throw new ApiError('bad_request', `runs.report: reference ${p.reference} is not one of the compared runs (ids)`)
        return { html: renderReport(await compareRunsInSlices(engine.store, p.ids), p.reference === undefined ? {} : { reference: p.reference }) }
      } catch (error) {
        throw error instanceof CompareError ? new ApiError('bad_request', `runs.report: ${error.message}`) : error
      }
    },
    'domains.list': () => ({ domains: engine.store.listDomains() }),
    // runs as a recorded job and answers when it ends; domains.addJob answers at once with the job
    'domains.add': (p) => engine.addDomain(p),
    'domains.addJob': (p) => engine.addDomainJob(p),
    'presets.list': () => ({ presets: PRESETS.map((p) => ({ ...p, config: parseRunConfig(p.config, `preset ${p.name}`) })) }),
    'experiments.list': () => ({ experiments: engine.store.listExperiments(), saved: engine.store.listSavedExperiments() }),
    'experiments.get': (p) => engine.store.getSavedExperiment(p.id),
    'experiments.save': (p) => engine.saveExperiment(p),
    'experiments.delete': (p) => engine.deleteSavedExperiment(p.id),
    'experiments.estimate': (p) => engine.designEstimate(p.config),
    // the runs table and saved views (issue 15)
    'runs.table': (p) => runTable(engine, p.ids),
    'runs.annotate': (p) => {
      const row = annotateRun(engine.store, p.id, p)
      // other windows reload their table on it
      engine.events.publish({ type: 'run.updated', run: engine.store.getRun(p.id) })
      return row
    },
    'views.list': () => ({ views: listViews(engine.store) }),
    'views.get': (p) => getView(engine.store, p.id),
    // other windows and clients refetch their list of views on it
    'views.save': (p) => {
      const view = saveView(engine.store, p)
      engine.events.publish({ type: 'views.changed' })
      return view
    },
    'views.delete': (p) => {
      const view = deleteView(engine.store, p.id)
      engine.events.publish({ type: 'views.changed' })
      return view
    },
    'runs.config': (p) => ({ config: parseRunConfig(engine.store.getExperimentConfig(engine.store.getRun(p.id).experimentId), `run ${p.id}`) }),
    'streams.list': () => ({ streams: engine.store.listStreams() }),
    'streams.create': (p) => engine.changeStreams(() => engine.store.createStream(p)),
    'streams.update': (p) => engine.changeStreams(() => engine.store.updateStream(p.id, p)),
    'streams.delete': (p) => engine.changeStreams(() => engine.store.deleteStream(p.id)),
    'streams.duplicate': (p) => engine.changeStreams(() => engine.store.duplicateStream(p.id, p.name)),
    'domains.get': (p) => engine.getDomain('id' in p ? p.id : p.name),
    'domains.rename': (p) => engine.renameDomain('id' in p ? p.id : p.name, p.newName),
    'domains.delete': (p) => engine.deleteDomain('id' in p ? p.id : p.name),
    'jobs.list': (p) => ({ jobs: engine.store.listJobs(p) }),
    'jobs.get': (p) => engine.store.getJob(p.id),
    'jobs.cancel': (p) => engine.jobs.cancel(p.id),
    'checkpoints.list': (p) => ({ checkpoints: engine.listCheckpoints(p.runId) }),
    'checkpoints.evaluate': (p) => engine.startJob('checkpoints.evaluate', local(p)),
    'checkpoints.finetune': (p) => engine.startJob('checkpoints.finetune', local(p)),
    'runs.forgetting': (p) => engine.startJob('runs.forgetting', p),
    'checkpoints.grow': (p) => engine.startJob('checkpoints.grow', local(p)),
    'checkpoints.export': (p) => engine.startJob('checkpoints.export', local(p)),
    'checkpoints.import': (p) => engine.startJob('checkpoints.import', p),
    'streams.prepareDefault': (p) => engine.startJob('streams.prepareDefault', p),
    // the run queue (issue 14)
    'queue.list': (p) => engine.queue.state(p.includeFinished ?? false),
    'queue.add': (p) => ({ entries: [engine.queue.entry(engine.queueAdd(p).id)] }),
    'queue.addJob': (p) => engine.queue.jobEntry(engine.queueAddJob(p).id),
    'queue.move': (p) => {
      engine.queue.move(p.jobId !== undefined ? { jobId: p.jobId } : { runId: p.runId! }, p.to, p.swapWith)
      return engine.queue.state()
    },
    'queue.update': (p) => engine.queue.update(p),
    'queue.remove': (p) => engine.queue.remove(p),
    'queue.retry': (p) => engine.queue.retry(p),
    'queue.pause': () => engine.queue.setPaused(true),
    'queue.resume': () => engine.queue.setPaused(false),
    'queue.settings': (p) => engine.queue.changeSettings(p),
    'queue.sweep': (p) => {
      const runs = engine.queueSweep(p)
      const entries = engine.queue.state(true).entries
      return { group: p.group, entries: runs.map((r) => entries.find((e) => e.kind === 'run' && e.runId === r.id)!).filter((e) => e !== undefined) }
    }
  }

  return async (rawMethod, rawParams) => {
    const { method, params } = parseRequest(rawMethod, rawParams)
    try {
      const handler = handlers[method] as (p: unknown) => unknown
      const result = await handler(params)
      // Check our own output too: a result that breaks the contract is a server bug, reported as such.
      const checked = contract[method].result.safeParse(result)
      if (!checked.success) throw new ApiError('internal', describeZodError(`${method} result`, checked.error))
      return checked.data
    } catch (error) {
      // the queue's refusals name their field; the method is put in front, as the schema's are
      if (error instanceof QueueInputError) throw new ApiError('bad_request', `${method}: ${error.message}`)
      throw toApiError(error)
    }
  }
}

function runTable(engine: Engine, ids: readonly number[] | undefined): Result<'runs.table'> {
  const rows = runTableRows(engine.store, ids)
  const fields = (pick: (r: (typeof rows)[number]) => object) =>
    [...new Set(rows.flatMap((r) => Object.keys(pick(r))))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
  return { rows, configFields: fields((r) => r.config), finalFields: fields((r) => r.final) }
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof ConfigError || error instanceof DomainInputError || error instanceof QueueInputError) return new ApiError('bad_request', error.message)
  if (error instanceof ResumableRunError) return new ApiError('conflict', error.message, { resumable: { runId: error.run.id, step: error.step, status: error.run.status } })
  if (error instanceof StoreError) {
    if (error.code === 'not_found') return new ApiError('not_found', error.message)
    if (error.code === 'conflict') return new ApiError('conflict', error.message)
    if (error.code === 'invalid') return new ApiError('bad_request', error.message)
  }
  // the store's condition, not the request's: said plainly, nothing was written
  if (isBusyError(error))
    return new ApiError(
      'unavailable',
      `the experiment store is locked by another process (an sqlite3 shell, a backup tool, a second workbench); nothing was changed, try again when it is free`
    )
  if (isDiskFullError(error)) return new ApiError('unavailable', `disk full: the experiment store could not be written; nothing was changed, free some space and try again`)
  return new ApiError('internal', error instanceof Error ? error.message : String(error))
}

/** Group points by name into columns, keeping at most `maxPoints` per series (evenly spaced, last kept). */
export function metricSeries(points: readonly MetricPoint[], names: readonly string[] | undefined, maxPoints: number): MetricSeries[] {
  const groups = new Map<string, MetricPoint[]>()
  for (const p of points) {
    if (names && !names.includes(p.name)) continue
    let g = groups.get(p.name)
    if (!g) groups.set(p.name, (g = []))
    g.push(p)
  }
  return [...groups].map(([name, all]) => {
    const stride = Math.max(1, Math.ceil(all.length / maxPoints))
    const kept = all.filter((_, i) => i % stride === 0 || i === all.length - 1)
    return {
      name,
      step: kept.map((p) => p.step),
      value: kept.map((p) => p.value),
      wallS: kept.map((p) => p.wallS),
      flops: kept.map((p) => p.flops),
      tokensSeen: kept.map((p) => p.tokensSeen),
      phase: kept.map((p) => p.phase)
    }
  })
}
