// Entry point of a training worker thread (bundled as out/main/train-worker.js).
import { parentPort } from 'node:worker_threads'
import type { GpuPageTransport } from './gpu-page-gradients'
import type { HostToWorker, WorkerToHost } from './protocol'
import { ExperimentStore } from '../store/store'
import { addUserDomain, ensureDefaultDomains } from './data'
import { RunController } from './run'

const port = parentPort
if (!port) throw new Error('train-worker must run in a worker thread')
const post = (message: WorkerToHost): void => port.postMessage(message)
const controller = new RunController()

// The host's GPU page, reached through the host (which relays each request to it and posts back the answer)
const gpuWaiting = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>()
let gpuNext = 1
const gpu: GpuPageTransport = {
  request: (call) =>
    new Promise((resolve, reject) => {
      const id = gpuNext++
      gpuWaiting.set(id, { resolve, reject })
      post({ type: 'gpu-request', id, call })
    })
}

port.on('message', (message: HostToWorker) => {
  if (message.type === 'cancel') return controller.cancel()
  if (message.type === 'lost') return controller.lose()
  if (message.type === 'gpu-answer') {
    const waiting = gpuWaiting.get(message.id)
    gpuWaiting.delete(message.id)
    if (message.ok) waiting?.resolve(message.result)
    else waiting?.reject(new Error(message.error))
    return
  }
  if (message.type === 'add-domain') {
    const { job } = message
    const store = ExperimentStore.open(job.dbPath)
    void addUserDomain(store, job.dataDir, { name: job.name, source: job.source, description: job.description })
      .then(
        (result) => post({ type: 'domain-added', result, error: null }),
        (error: unknown) => post({ type: 'domain-added', result: null, error: error instanceof Error ? error.message : String(error) })
      )
      .finally(() => store.close())
    return
  }
  if (message.type === 'prepare') {
    // Preparing the built-in stream trains a tokenizer and reads ~100 MB of corpora: keep it off the serving thread.
    const store = ExperimentStore.open(message.dbPath)
    void ensureDefaultDomains(store, message.dataDir)
      .then(
        () => post({ type: 'prepared', error: null }),
        (error: unknown) => post({ type: 'prepared', error: error instanceof Error ? error.message : String(error) })
      )
      .finally(() => store.close())
    return
  }
  void controller
    .execute(message.job, { progress: (progress) => post({ type: 'progress', progress }), log: (text) => post({ type: 'log', message: text }), gpu })
    .then((outcome) => post({ type: 'done', outcome }))
})
