// `ELLE_BACKEND=webgpu` in the desktop app (electron test double). Dawn's Node addon cannot run inside Electron,
// and training on Electron's GPU window is not wired yet: the app starts on the automatic order, and the report
// says exactly that and which backend trains instead, not a Dawn load error. Its own file: a process selects its
// backend once, and here the first selection is the app's.
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
afterAll(async () => {
  await started?.api.close()
  for (const key of ['ELLE_DB', 'ELLE_DATA_DIR', 'ELLE_BACKEND']) delete process.env[key]
})

describe('--backend webgpu in Electron', () => {
  it('starts on the next backend and says training on the GPU window is not wired yet; the window is kept even on a software adapter', async () => {
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
        "webgpu: in this host WebGPU runs in the host's GPU window (Chromium's own), not through Dawn's Node addon, and training on the GPU window is not wired yet " +
        `(the training worker does not send its steps there): asked for by ELLE_BACKEND=webgpu, training uses ${report.active} instead`
    })
    expect(report.candidates.filter((c) => c.status === 'failed')).toEqual([])

    // asked for by name, the window is kept on a software adapter too, and its entry says the same
    const gpuWindow = Window.all.slice(before).find((w) => w.options.title === 'ELLE GPU')!
    const port = gpuWindow.webContents.posted.find((p) => p.channel === GPU_PAGE_PORT_CHANNEL)!.transfer[0]! as unknown as PortDouble
    port.on('message', (e) => port.postMessage({ id: (e as { data: { id: number } }).data.id, ok: true, result: SWIFTSHADER }))
    port.start()
    expect((await started!.gpu)?.window).toBe(gpuWindow)
    const after = (await started!.api.call('system.info', {})).backend
    expect(after.candidates.find((c) => c.name === 'webgpu')).toMatchObject({
      status: 'available',
      reason: `webgpu (Electron's Chromium): SwiftShader, software is available, but training on the GPU window is not wired yet (the training worker does not send its steps to the page): asked for by name, training uses ${report.active} instead`,
      host: { label: 'Chromium window', device: 'SwiftShader, software', trains: false }
    })
  })
})
