// `ELLE_BACKEND=webgpu` in the desktop app (electron test double). Dawn's Node addon cannot run inside Electron: the
// app starts on the automatic order, the report says so, not a Dawn load error, and once the probe keeps the GPU
// window (here on a software adapter, asked for by name) runs compute their gradients on it: the run's worker thread
// asks the trainer host, which relays to the window's MessagePortMain, whose page end is played here by the page's own
// GpuSession on wasm. Its own file: a process selects its backend once, and here the first selection is the app's.
import { GpuSession } from '../../src/main/engine/backend/gpu-page/session'
import type { ApiEvent } from '../../src/shared/contract'
import path from 'node:path'
import * as electron from 'electron'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { startElectronApp, type ElectronApp } from '../../src/main/electron/app'
import { GPU_PAGE_PORT_CHANNEL, type GpuAdapter } from '../../src/shared/gpu-page'
import { tempDir } from '../helpers/tmp'
import type { BrowserWindow as WindowDouble, MessagePortMain as PortDouble } from '../doubles/electron'

const Window = electron.BrowserWindow as unknown as typeof WindowDouble
const SWIFTSHADER: GpuAdapter = { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader', software: true }

let started: ElectronApp | null = null
/** the ops the GPU window's page received */
const ops: string[] = []
afterAll(async () => {
  await started?.api.close()
  for (const key of ['ELLE_DB', 'ELLE_DATA_DIR', 'ELLE_BACKEND']) delete process.env[key]
})

describe('--backend webgpu in Electron', () => {
  it('starts on the next backend and says why; the window is kept even on a software adapter, and its entry says it trains', async () => {
    Object.assign(process.env, { ELLE_DB: path.join(tempDir(), 'webgpu.sqlite'), ELLE_DATA_DIR: inject('dataDir'), ELLE_BACKEND: 'webgpu' })
    const before = Window.all.length
    started = await startElectronApp()
    expect(started).not.toBeNull()
    const report = (await started!.api.call('system.info', {})).backend
    expect(report.active).not.toBe('webgpu')
    expect(report.requestedBy).toBe('auto') // the request could not be honoured: the automatic order chose
    const webgpu = report.candidates.find((c) => c.name === 'webgpu')!
    expect(webgpu).toEqual({
      name: 'webgpu',
      package: 'webgpu',
      status: 'skipped',
      reason:
        "webgpu: in this host WebGPU runs in the host's GPU window (Chromium's own), not through Dawn's Node addon: asked for by ELLE_BACKEND=webgpu, runs compute their " +
        `gradients on the GPU window once the host has probed it (their worker keeps the model and the optimizer on ${report.active}); until then, and without an adapter, training uses ${report.active}`
    })
    expect(report.candidates.filter((c) => c.status === 'failed')).toEqual([])

    // asked for by name, the window is kept on a software adapter too, and its entry says the same
    const gpuWindow = Window.all.slice(before).find((w) => w.options.title === 'ELLE GPU')!
    const port = gpuWindow.webContents.posted.find((p) => p.channel === GPU_PAGE_PORT_CHANNEL)!.transfer[0]! as unknown as PortDouble
    // the page: its session on wasm, answering in order as page.ts does
    const session = new GpuSession(async () => SWIFTSHADER)
    let queue = Promise.resolve()
    port.on('message', (e) => {
      const req = (e as { data: { id: number; op: string } }).data
      ops.push(req.op)
      queue = queue.then(async () => port.postMessage(await session.handle(req)))
    })
    port.start()
    expect((await started!.gpu)?.window).toBe(gpuWindow)
    const after = (await started!.api.call('system.info', {})).backend
    expect(after.candidates.find((c) => c.name === 'webgpu')).toMatchObject({
      status: 'available',
      reason: `webgpu (Electron's Chromium): SwiftShader, software trains: runs compute their gradients on the GPU window, their worker keeps the model, the optimizer and validation on ${report.active} (asked for by name)`,
      host: { label: 'Chromium window', device: 'SwiftShader, software', trains: true }
    })
  })

  it('a run started in the app computes its gradients on the GPU window, through the host and the window port', async () => {
    const api = started!.api
    ops.length = 0
    const ended = new Promise<ApiEvent>((resolve) => {
      api.onEvent((e) => {
        if (e.type === 'run.updated' && (e.run.status === 'finished' || e.run.status === 'failed')) resolve(e)
      })
    })
    await api.call('runs.start', {
      config: {
        name: 'on-the-gpu-window',
        model: { kind: 'gpt', layers: 1, heads: 2, headSize: 16 },
        training: { seqLen: 32, batchSize: 8, accumulation: 2, validateEvery: 10, validationSequences: 16, checkpointEvery: 10 },
        stages: [{ domain: 'press', steps: 3 }]
      }
    })
    const event = await ended
    expect(event).toMatchObject({ type: 'run.updated', run: { status: 'finished' } })
    // the model once, each update's weights, both micro-batches of every update
    expect(ops.filter((op) => op === 'model')).toHaveLength(1)
    expect(ops.filter((op) => op === 'weights')).toHaveLength(3)
    expect(ops.filter((op) => op === 'gradients')).toHaveLength(6)
  }, 120_000)
})
