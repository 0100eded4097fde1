// Entry point of a job worker thread (bundled as out/main/job-worker.js): runs one job and ends.
import { parentPort } from 'node:worker_threads'
import { selectBackend } from '../backend/select'
import { CheckpointError } from '../checkpoint/errors'
import { DataError } from '../data/errors'
import { DownstreamError } from '../downstream'
import { ExperimentStore } from '../store/store'
import { JOB_BODIES, JobCancelledError, JobInputError } from './bodies'
import type { HostToJobWorker, JobWorkerToHost } from './protocol'

const port = parentPort
if (!port) throw new Error('job-worker must run in a worker thread')
const post = (message: JobWorkerToHost): void => port.postMessage(message)

port.once('message', (message: HostToJobWorker) => {
  const { work } = message
  const cancel = new Int32Array(work.cancel)
  const cancelled = (): boolean => Atomics.load(cancel, 0) === 1
  let store: ExperimentStore | null = null
  void (async () => {
    try {
      await selectBackend(work.backend)
      store = ExperimentStore.open(work.dbPath)
      const body = JOB_BODIES[work.kind]
      const result = await body(work.params, {
        store,
        dataDir: work.dataDir,
        progress: (fraction, text) => {
          if (cancelled()) throw new JobCancelledError()
          post({ type: 'progress', fraction, message: text })
        },
        log: (text) => post({ type: 'log', message: text })
      })
      post(cancelled() ? { type: 'cancelled' } : { type: 'done', result })
    } catch (error) {
      if (error instanceof JobCancelledError || cancelled()) return post({ type: 'cancelled' })
      const input =
        error instanceof JobInputError || error instanceof DownstreamError || error instanceof CheckpointError || error instanceof DataError || error instanceof RangeError
      post({ type: 'failed', error: error instanceof Error ? error.message : String(error), input })
    } finally {
      store?.close()
    }
  })()
})
