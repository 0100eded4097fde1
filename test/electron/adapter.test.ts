// The Electron adapter against the test double of the `electron` module (see test/doubles/electron.ts):
// the window's security settings, the IPC round trip through the real preload, and event forwarding.
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import * as electron from 'electron'
import type { PreloadBridge } from '../../src/shared/ipc'
import { IPC_EVENT_CHANNEL } from '../../src/shared/ipc'
import { createApiHandler } from '../../src/main/engine/api/handler'
import type { Engine } from '../../src/main/engine/engine'
import {
  createMainWindow,
  forwardEvents,
  pageUrl as pageUrlOf,
  registerCorpusPicker,
  registerIpc,
  RunWatcher,
  startElectronApp,
  type ElectronApp
} from '../../src/main/electron/app'
import type { ApiEvent } from '../../src/shared/contract'
import { GPU_PAGE_PORT_CHANNEL, type GpuAdapter } from '../../src/shared/gpu-page'
import { rendererDir } from '../../src/main/app-root'
import { tempEngine } from '../helpers/engine'
import { tempDir } from '../helpers/tmp'
import type {
  app as AppDouble,
  BrowserWindow as WindowDouble,
  ipcMain as IpcMainDouble,
  ipcRenderer as IpcRendererDouble,
  contextBridge as BridgeDouble,
  Notification as NotificationDouble,
  powerSaveBlocker as BlockerDouble,
  session as SessionDouble,
  dialog as DialogDouble,
  MessagePortMain as PortDouble
} from '../doubles/electron'

const double = electron as unknown as {
  app: typeof AppDouble
  session: typeof SessionDouble
  ipcMain: typeof IpcMainDouble
  ipcRenderer: typeof IpcRendererDouble
  contextBridge: typeof BridgeDouble
  Notification: typeof NotificationDouble
  powerSaveBlocker: typeof BlockerDouble
  dialog: typeof DialogDouble
}

const indexHtml = path.resolve('/app/out/renderer/index.html')
const pageUrl = pathToFileURL(indexHtml).toString()
let engine: Engine
let bridge: PreloadBridge

beforeAll(async () => {
  engine = await tempEngine()
  registerIpc(createApiHandler(engine, 'electron'), pageUrl)
  registerCorpusPicker(pageUrl)
  double.ipcRenderer.pageUrl = pageUrl
  await import('../../src/preload/index') // runs the real preload against the double
  bridge = double.contextBridge.exposed.get('elle') as PreloadBridge
})
afterAll(() => engine.close())

describe('main window', () => {
  it('is created with context isolation, sandbox and no Node integration', () => {
    const window = createMainWindow('/app/out/preload/index.cjs', pageUrl) as unknown as WindowDouble
    const prefs = window.options.webPreferences!
    expect(prefs).toMatchObject({ contextIsolation: true, nodeIntegration: false, sandbox: true, webSecurity: true, preload: '/app/out/preload/index.cjs' })
    expect(window.loadedFile).toBe(indexHtml)
    expect(window.shown).toBe(true)
  })

  it('never navigates away from the app or opens new windows', () => {
    const window = createMainWindow('/p.cjs', pageUrl) as unknown as WindowDouble
    expect(window.webContents.tryNavigate('https://example.com/')).toBe(true)
    expect(window.webContents.tryNavigate(`${pageUrl}#/runs`)).toBe(false)
    expect(window.webContents.windowOpenHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' })
  })

  it("lets the page connect to nothing beyond 'self': it talks to the app over IPC", () => {
    const html = fs.readFileSync(path.resolve('src/renderer/index.html'), 'utf8')
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)?.[1] ?? ''
    expect(csp.split(';').map((d) => d.trim())).toContain("connect-src 'self'")
    expect(csp).not.toMatch(/ws:/)
  })
})

describe('page URL', () => {
  it('is the built renderer, or a loopback dev server announced by electron-vite dev', () => {
    expect(pageUrlOf(indexHtml, {})).toBe(pageUrl)
    expect(pageUrlOf(indexHtml, { ELECTRON_RENDERER_URL: 'http://localhost:5173' })).toBe('http://localhost:5173/')
    expect(pageUrlOf(indexHtml, { ELECTRON_RENDERER_URL: 'https://evil.example/' })).toBe(pageUrl) // never a remote page
    expect(pageUrlOf(indexHtml, { ELECTRON_RENDERER_URL: 'http://localhost:5173' }, true)).toBe(pageUrl) // never in a packaged app
    const window = createMainWindow('/p.cjs', 'http://localhost:5173/') as unknown as WindowDouble
    expect(window.loadedUrl).toBe('http://localhost:5173/')
    expect(window.webContents.tryNavigate('http://localhost:5173/#/runs')).toBe(false)
    expect(window.webContents.tryNavigate('http://localhost:5174/')).toBe(true)
  })
})

describe('IPC through the preload', () => {
  it('exposes only invoke and onEvent to the page', () => {
    expect(Object.keys(bridge).sort()).toEqual(['invoke', 'onEvent', 'pickCorpus'])
  })

  it('answers valid calls with the engine data', async () => {
    const run = engine.createRun('ipc', { via: 'ipc' })
    const response = await bridge.invoke('runs.get', { id: run.id })
    expect(response).toEqual({ ok: true, result: expect.objectContaining({ id: run.id, experimentName: 'ipc' }) })
    const info = await bridge.invoke('system.info', {})
    expect(info).toEqual({ ok: true, result: expect.objectContaining({ mode: 'electron' }) })
  })

  it('rejects malformed calls with the validation message', async () => {
    expect(await bridge.invoke('runs.get', { id: 'x' })).toEqual({ ok: false, error: { code: 'bad_request', message: expect.stringMatching(/^runs\.get: id: /) } })
    expect(await bridge.invoke('fs.readFile', { path: '/etc/passwd' })).toEqual({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('unknown method') } })
    // a compromised page bypassing the preload's own check still meets the main-process validation
    expect(await double.ipcMain.invokeFrom(pageUrl, 'elle:rpc', { method: 'runs.get' })).toEqual({
      ok: false,
      error: { code: 'bad_request', message: expect.stringContaining('id') }
    })
    expect(await double.ipcMain.invokeFrom(pageUrl, 'elle:rpc', 'not an envelope')).toEqual({
      ok: false,
      error: { code: 'bad_request', message: 'IPC request must be {method, params}' }
    })
  })

  it('refuses calls from any frame other than the app page', async () => {
    const response = await double.ipcMain.invokeFrom('https://evil.example/', 'elle:rpc', { method: 'runs.list', params: {} })
    expect(response).toEqual({ ok: false, error: { code: 'unauthorized', message: expect.any(String) } })
  })
})

describe('events, sleep and notifications', () => {
  it('forwards engine events to the page through the preload', async () => {
    const window = createMainWindow('/p.cjs', pageUrl) as unknown as WindowDouble
    const received: unknown[] = []
    const stopListening = bridge.onEvent((event) => received.push(event))
    const stopForwarding = forwardEvents(engine, () => [window.webContents as unknown as electron.WebContents])
    const run = engine.createRun('forwarded', { f: 1 })
    engine.setRunStatus(run.id, 'running')
    expect(double.powerSaveBlocker.active.size).toBe(1) // a run is training
    stopForwarding()
    stopListening()
    expect(double.powerSaveBlocker.active.size).toBe(0) // released with the window's subscription
    expect(window.webContents.sent.map((m) => m.channel)).toEqual([IPC_EVENT_CHANNEL, IPC_EVENT_CHANNEL])
    expect(received).toEqual([
      { type: 'run.updated', run: expect.objectContaining({ id: run.id, status: 'queued' }) },
      { type: 'run.updated', run: expect.objectContaining({ id: run.id, status: 'running' }) }
    ])
  })

  it('prevents sleep while a run trains and notifies when it ends', () => {
    const watcher = new RunWatcher()
    const run = engine.createRun('sleepy', { s: 1 })
    const shownBefore = double.Notification.shown.length
    watcher.handle({ type: 'run.updated', run: engine.setRunStatus(run.id, 'running') })
    expect(watcher.preventingSleep).toBe(true)
    expect(double.powerSaveBlocker.active.size).toBe(1)
    watcher.handle({ type: 'run.updated', run: engine.setRunStatus(run.id, 'failed', { error: 'loss is NaN at step 7' }) })
    expect(watcher.preventingSleep).toBe(false)
    expect(double.powerSaveBlocker.active.size).toBe(0)
    expect(double.Notification.shown.slice(shownBefore)).toEqual([{ title: `Run ${run.id} failed`, body: 'sleepy: loss is NaN at step 7' }])
  })

  it("keeps the machine awake while the queue trains here, and shows the queue's notices that need attention", () => {
    const watcher = new RunWatcher()
    const shownBefore = double.Notification.shown.length
    watcher.handle({ type: 'training.active', active: true })
    expect(double.powerSaveBlocker.active.size).toBe(1)
    const at = new Date().toISOString()
    watcher.handle({ type: 'run.notice', notice: { kind: 'stalled', runId: 7, experimentName: 'x', message: 'run 7 (x) stalled: no progress for 15 min', at } })
    watcher.handle({ type: 'run.notice', notice: { kind: 'finished', runId: 7, experimentName: 'x', message: 'run 7 (x) finished', at } }) // told by run.updated
    watcher.handle({ type: 'training.active', active: false })
    expect(double.powerSaveBlocker.active.size).toBe(0)
    expect(double.Notification.shown.slice(shownBefore)).toEqual([{ title: 'Run 7 stalled', body: 'run 7 (x) stalled: no progress for 15 min' }])
    watcher.dispose()
  })
})

describe('the native corpus dialog through the preload', () => {
  it('opens the files or folder dialog and returns the chosen paths, checked in main; a cancel returns none', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'a.txt')
    fs.writeFileSync(file, 'some text')
    double.dialog.nextOpen = { canceled: false, filePaths: [file] }
    expect(await bridge.pickCorpus('files')).toEqual({ ok: true, paths: [file] })
    expect(double.dialog.opened.at(-1)).toMatchObject({
      properties: ['openFile', 'multiSelections'],
      filters: [expect.objectContaining({ extensions: expect.arrayContaining(['txt', 'jsonl']) })]
    })
    double.dialog.nextOpen = { canceled: false, filePaths: [dir] }
    expect(await bridge.pickCorpus('folder')).toEqual({ ok: true, paths: [dir] })
    expect(double.dialog.opened.at(-1)).toMatchObject({ properties: ['openDirectory'] })
    // the checkpoint actions' folder (an export target, a model to import): one that may be created in the dialog
    double.dialog.nextOpen = { canceled: false, filePaths: [dir] }
    expect(await bridge.pickCorpus('output-folder')).toEqual({ ok: true, paths: [dir] })
    expect(double.dialog.opened.at(-1)).toMatchObject({ title: 'Choose a folder', properties: ['openDirectory', 'createDirectory'] })
    double.dialog.nextOpen = { canceled: true, filePaths: [] }
    expect(await bridge.pickCorpus('folder')).toEqual({ ok: true, paths: [] })
  })

  it('refuses what main cannot vouch for: a missing path, a folder where files were asked, a relative path, another frame, an unknown kind', async () => {
    const dir = tempDir()
    double.dialog.nextOpen = { canceled: false, filePaths: [path.join(dir, 'gone.txt')] }
    expect(await bridge.pickCorpus('files')).toEqual({ ok: false, error: { code: 'bad_request', message: `${path.join(dir, 'gone.txt')} cannot be read: ENOENT` } })
    double.dialog.nextOpen = { canceled: false, filePaths: [dir] }
    expect(await bridge.pickCorpus('files')).toEqual({ ok: false, error: { code: 'bad_request', message: `${dir} is not a regular file` } })
    double.dialog.nextOpen = { canceled: false, filePaths: ['relative/x.txt'] }
    expect(await bridge.pickCorpus('files')).toMatchObject({ ok: false, error: { message: expect.stringContaining('not absolute') } })
    const opened = double.dialog.opened.length
    expect(await double.ipcMain.invokeFrom('https://evil.example/', 'elle:pick-corpus', 'files')).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
    expect(await double.ipcMain.invokeFrom(pageUrl, 'elle:pick-corpus', 'anything')).toMatchObject({ ok: false, error: { code: 'bad_request' } })
    expect(double.dialog.opened.length).toBe(opened) // no dialog for a refused request
  })
})

describe('startElectronApp', () => {
  it('opens one secure window on the shared store, focuses it on a second start, and quits a second instance', async () => {
    const appDouble = (electron as unknown as { app: { singleInstance: boolean; quitCalled: boolean; emit(e: string): void } }).app
    double.ipcMain.removeHandler('elle:rpc') // the earlier tests' registration; the app registers its own
    double.ipcMain.removeHandler('elle:pick-corpus')
    process.env.ELLE_DB = path.join(tempDir(), 'app.sqlite')
    process.env.ELLE_DATA_DIR = inject('dataDir')
    const started = await startElectronApp()
    expect(started).not.toBeNull()
    const window = started!.window as unknown as WindowDouble
    expect(window.options.webPreferences).toMatchObject({ contextIsolation: true, nodeIntegration: false, sandbox: true })
    expect(started!.api.storePath).toBe(process.env.ELLE_DB)
    appDouble.emit('second-instance')
    expect(window.focused).toBe(true)
    await started!.api.close()

    appDouble.singleInstance = false
    expect(await startElectronApp()).toBeNull()
    expect(appDouble.quitCalled).toBe(true)
    appDouble.singleInstance = true
    delete process.env.ELLE_DB
    delete process.env.ELLE_DATA_DIR
  })

  it('in a packaged app shows its own files whatever ELECTRON_RENDERER_URL says, and grants no web permission', async () => {
    double.ipcMain.removeHandler('elle:rpc')
    double.ipcMain.removeHandler('elle:pick-corpus')
    Object.assign(process.env, { ELLE_DB: path.join(tempDir(), 'packaged.sqlite'), ELLE_DATA_DIR: inject('dataDir'), ELECTRON_RENDERER_URL: 'http://localhost:5173' })
    double.app.isPackaged = true
    try {
      const started = await startElectronApp()
      const window = started!.window as unknown as WindowDouble
      expect(window.loadedUrl).toBeNull()
      expect(window.loadedFile).toBe(path.join(rendererDir(), 'index.html'))
      const { permissionHandler, permissionCheckHandler } = double.session.defaultSession
      expect(await new Promise((resolve) => permissionHandler!(window.webContents, 'media', resolve))).toBe(false)
      // checks (navigator.permissions.query, some media and clipboard paths) never reach the request handler
      expect(permissionCheckHandler?.(window.webContents, 'clipboard-read', 'file://', {})).toBe(false)
      await started!.api.close()
    } finally {
      double.app.isPackaged = false
      for (const key of ['ELLE_DB', 'ELLE_DATA_DIR', 'ELECTRON_RENDERER_URL']) delete process.env[key]
    }
  })
})

describe('the GPU window at start (docs/webgpu.md)', () => {
  const Window = electron.BrowserWindow as unknown as typeof WindowDouble
  const HARDWARE: GpuAdapter = { vendor: 'nvidia', architecture: 'ampere', device: 'RTX 3060', description: '', software: false }

  /** The page end of a GPU window's port, answering each request as page.ts would. */
  function answerAsPage(window: WindowDouble, answer: (req: { id: number; op: string }) => unknown): void {
    const port = window.webContents.posted.find((p) => p.channel === GPU_PAGE_PORT_CHANNEL)!.transfer[0]! as unknown as PortDouble
    port.on('message', (e) => port.postMessage(answer((e as { data: { id: number; op: string } }).data)))
    port.start()
  }

  /** startElectronApp on a fresh store; the windows it created, in order */
  async function start(): Promise<{ started: ElectronApp; created: WindowDouble[] }> {
    double.ipcMain.removeHandler('elle:rpc')
    double.ipcMain.removeHandler('elle:pick-corpus')
    Object.assign(process.env, { ELLE_DB: path.join(tempDir(), 'gpu.sqlite'), ELLE_DATA_DIR: inject('dataDir') })
    const before = Window.all.length
    const started = await startElectronApp()
    delete process.env.ELLE_DB
    delete process.env.ELLE_DATA_DIR
    return { started: started!, created: Window.all.slice(before) }
  }

  it('is probed after the main window is up, without delaying start; its entry reaches the report and the page, once', async () => {
    const { started, created } = await start()
    // startElectronApp has returned and the page has not answered yet: the probe runs in the background
    expect(created.map((w) => w.options.title)).toEqual(['ELLE Workbench', 'ELLE GPU'])
    const [main, gpuWindow] = created as [WindowDouble, WindowDouble]
    const before = await started.api.call('system.info', {})
    expect(before.backend.candidates.some((c) => c.host)).toBe(false)

    answerAsPage(gpuWindow, (req) => ({ id: req.id, ok: true, result: HARDWARE }))
    const kept = await started.gpu
    expect(kept?.window).toBe(gpuWindow)
    expect(gpuWindow.isDestroyed()).toBe(false) // a hardware adapter: kept

    // what every client gets from the contract
    const info = await started.api.call('system.info', {})
    expect(info.backend.active).toBe(before.backend.active)
    expect(info.backend.candidates.filter((c) => c.name === 'webgpu')).toEqual([
      {
        name: 'webgpu',
        package: "electron (Chromium's WebGPU in a hidden window)",
        status: 'available',
        reason: `webgpu (Electron's Chromium): nvidia ampere RTX 3060 trains: runs compute their gradients on the GPU window, their worker keeps the model, the optimizer and validation on ${info.backend.active}`,
        host: { label: 'Chromium window', device: 'nvidia ampere RTX 3060', trains: true }
      }
    ])
    // pushed to the app's page once (the status bar needs no new request), never to the GPU page
    const changes = main.webContents.sent.filter((m) => (m.payload as ApiEvent).type === 'backend.changed')
    expect(changes).toEqual([{ channel: IPC_EVENT_CHANNEL, payload: { type: 'backend.changed', backend: info.backend } }])
    expect(gpuWindow.webContents.sent).toEqual([])

    // the hidden window must not keep the app open once its main window is closed
    main.destroy()
    await new Promise((resolve) => setImmediate(resolve)) // closed once the probe's promise has settled
    expect(gpuWindow.isDestroyed()).toBe(true)
    await started.api.close()
  })

  it('a failing probe does not break start: the entry says why, and no window is kept', async () => {
    const loadFile = Window.prototype.loadFile
    Window.prototype.loadFile = async function (this: WindowDouble, file: string) {
      if (file.endsWith(path.join('gpu-page', 'index.html'))) throw new Error('ERR_FILE_NOT_FOUND (-6) loading the GPU page')
      return loadFile.call(this, file)
    }
    try {
      const { started, created } = await start()
      expect(await started.gpu).toBeNull()
      expect(created[1]!.isDestroyed()).toBe(true)
      const info = await started.api.call('system.info', {})
      expect(info.backend.candidates.find((c) => c.name === 'webgpu')).toMatchObject({
        status: 'failed',
        reason: `webgpu (Electron's Chromium): the GPU window could not start WebGPU: ERR_FILE_NOT_FOUND (-6) loading the GPU page; training uses ${info.backend.active}`,
        host: { device: null, trains: false }
      })
      // the app works on
      expect(await started.api.call('runs.list', {})).toEqual({ runs: expect.any(Array) })
      expect(created[0]!.isDestroyed()).toBe(false)
      await started.api.close()
    } finally {
      Window.prototype.loadFile = loadFile
    }
  })
})
