// The Electron adapter: window, IPC, sleep prevention and notifications around the engine.
// It only adapts; everything the app does is in the engine and reached through the API handler.
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import fs from 'node:fs'
import { app, BrowserWindow, dialog, ipcMain, Notification, powerSaveBlocker, session, type IpcMainInvokeEvent, type WebContents } from 'electron'
import type { ApiEvent, RunStatus } from '../../shared/contract'
import { IPC_EVENT_CHANNEL, IPC_PICK_CHANNEL, IPC_RPC_CHANNEL, IpcRequest, PICK_KINDS, type IpcResponse, type PickKind, type PickResponse } from '../../shared/ipc'
import { backendRequestFromEnv, defaultDataDir, openEngineApi, resolveDbPath, toApiError, type ApiHandler, type EngineApi, type EventBus } from '../engine/api/facade'
import { gpuPageFile, gpuPreloadFile, preloadFile, rendererDir } from '../app-root'
import { isGpuWindow, probeGpuWindow, type GpuWindow } from './gpu-window'
import { SECURE_WEB_PREFERENCES } from './web-preferences'

/**
 * The URL the window shows: the built renderer, or the dev server `electron-vite dev` announces in
 * ELECTRON_RENDERER_URL (loopback only) for hot reload during development. A packaged app always shows
 * its own files: an environment variable must not swap in a page that the IPC API then trusts.
 */
export function pageUrl(indexHtml: string, env: NodeJS.ProcessEnv = process.env, packaged: boolean = app.isPackaged): string {
  const dev = packaged ? undefined : env.ELECTRON_RENDERER_URL
  if (dev && /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(dev)) return dev.endsWith('/') ? dev : `${dev}/`
  return pathToFileURL(indexHtml).toString()
}

const withoutHash = (url: string): string => url.split('#')[0]!

export function createMainWindow(preload: string, page: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'ELLE Workbench',
    show: false,
    backgroundColor: '#101418',
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload }
  })
  // The page never navigates away or opens windows: links to the outside are refused.
  window.webContents.on('will-navigate', (event, url) => {
    if (withoutHash(url) !== page) event.preventDefault()
  })
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  window.once('ready-to-show', () => window.show())
  void (page.startsWith('file:') ? window.loadFile(fileURLToPath(page)) : window.loadURL(page))
  return window
}

/** Only our own page may call the API: a frame from anywhere else is refused. */
function fromOurPage(event: IpcMainInvokeEvent, page: string): boolean {
  return withoutHash(event.senderFrame?.url ?? '') === page
}

export function registerIpc(handler: ApiHandler, page: string): void {
  ipcMain.handle(IPC_RPC_CHANNEL, async (event, raw: unknown): Promise<IpcResponse> => {
    if (!fromOurPage(event, page)) return { ok: false, error: { code: 'unauthorized', message: 'request from an unexpected frame refused' } }
    const envelope = IpcRequest.safeParse(raw)
    if (!envelope.success) return { ok: false, error: { code: 'bad_request', message: 'IPC request must be {method, params}' } }
    try {
      return { ok: true, result: await handler(envelope.data.method, envelope.data.params) }
    } catch (error) {
      const apiError = toApiError(error)
      return { ok: false, error: { code: apiError.code, message: apiError.message } }
    }
  })
}

/** The extensions the corpus reader takes as text or JSONL (others in folders are sniffed). */
const CORPUS_EXTENSIONS = ['txt', 'md', 'text', 'markdown', 'rst', 'jsonl', 'ndjson']

/**
 * Paths the dialog returned, checked here in main before the page may pass them to domains.addJob: absolute,
 * existing, a regular file (files) or a folder (folder), and readable by this process. The message names the path.
 */
export function checkPickedPaths(kind: PickKind, paths: readonly string[]): string[] {
  return paths.map((p) => {
    if (typeof p !== 'string' || !path.isAbsolute(p) || p.includes('\0'))
      throw new Error(`the dialog returned a path that is not absolute: ${JSON.stringify(String(p)).slice(0, 200)}`)
    let st: fs.Stats
    try {
      st = fs.statSync(p)
      fs.accessSync(p, fs.constants.R_OK)
    } catch (error) {
      throw new Error(`${p} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    const folder = kind !== 'files'
    if (folder ? !st.isDirectory() : !st.isFile()) throw new Error(`${p} is not a ${folder ? 'folder' : 'regular file'}`)
    return path.resolve(p)
  })
}

/** The native corpus dialog for our page only: files (text or JSONL) or one folder, the paths checked in main. */
export function registerCorpusPicker(page: string): void {
  ipcMain.handle(IPC_PICK_CHANNEL, async (event, kind: unknown): Promise<PickResponse> => {
    if (!fromOurPage(event, page)) return { ok: false, error: { code: 'unauthorized', message: 'request from an unexpected frame refused' } }
    if (!(PICK_KINDS as readonly unknown[]).includes(kind)) return { ok: false, error: { code: 'bad_request', message: `pick kind must be one of ${PICK_KINDS.join(', ')}` } }
    const picked = await dialog.showOpenDialog({
      title: kind === 'output-folder' ? 'Choose a folder' : kind === 'folder' ? 'Add a folder of text files as a domain' : 'Add text or JSONL files as a domain',
      properties: kind === 'output-folder' ? ['openDirectory', 'createDirectory'] : kind === 'folder' ? ['openDirectory'] : ['openFile', 'multiSelections'],
      ...(kind === 'files' ? { filters: [{ name: 'Text or JSONL', extensions: CORPUS_EXTENSIONS }] } : {})
    })
    if (picked.canceled) return { ok: true, paths: [] }
    try {
      return { ok: true, paths: checkPickedPaths(kind as PickKind, picked.filePaths) }
    } catch (error) {
      return { ok: false, error: { code: 'bad_request', message: (error as Error).message } }
    }
  })
}

/**
 * Keeps the machine awake while runs train (a run.updated running anywhere, or training.active here), and
 * tells the user when one ends (finished, failed with its error's first line) or needs attention (the queue's
 * run.notice: stalled, stopped by its budget, interrupted by a crash).
 */
export class RunWatcher {
  private readonly running = new Set<number>()
  private trainingHere = false
  private blocker: number | null = null

  handle(event: ApiEvent): void {
    if (event.type === 'training.active') {
      this.trainingHere = event.active
      this.updateBlocker()
      return
    }
    if (event.type === 'run.notice') {
      const { kind, runId, message } = event.notice
      // finished and failed are told from run.updated (also for runs other processes train)
      if ((kind === 'stalled' || kind === 'budget' || kind === 'interrupted') && Notification.isSupported())
        new Notification({ title: `Run ${runId} ${kind === 'budget' ? 'stopped by its budget' : kind}`, body: message }).show()
      return
    }
    if (event.type !== 'run.updated') return
    const { id, status, experimentName, error } = event.run
    if (status === 'running') this.running.add(id)
    else this.running.delete(id)
    this.updateBlocker()
    const ended: RunStatus[] = ['finished', 'failed']
    if (ended.includes(status) && Notification.isSupported()) {
      new Notification({
        title: `Run ${id} ${status}`,
        body: status === 'failed' ? `${experimentName}: ${(error ?? 'unknown error').split('\n')[0]}` : `${experimentName} finished`
      }).show()
    }
  }

  private updateBlocker(): void {
    const training = this.running.size > 0 || this.trainingHere
    if (training && this.blocker === null) this.blocker = powerSaveBlocker.start('prevent-app-suspension')
    if (!training && this.blocker !== null) {
      powerSaveBlocker.stop(this.blocker)
      this.blocker = null
    }
  }

  get preventingSleep(): boolean {
    return this.blocker !== null
  }

  dispose(): void {
    if (this.blocker !== null) powerSaveBlocker.stop(this.blocker)
    this.blocker = null
    this.running.clear()
    this.trainingHere = false
  }
}

/** Forward the contract's events (an engine's or an EngineApi's) to the pages. */
export function forwardEvents(source: { events: EventBus }, targets: () => WebContents[]): () => void {
  const watcher = new RunWatcher()
  const unsubscribe = source.events.subscribe((event) => {
    watcher.handle(event)
    for (const contents of targets()) if (!contents.isDestroyed()) contents.send(IPC_EVENT_CHANNEL, event)
  })
  return () => {
    unsubscribe()
    watcher.dispose()
  }
}

/** What startElectronApp started: the engine's API, the main window, and the GPU window's probe (docs/webgpu.md). */
export interface ElectronApp {
  api: EngineApi
  window: BrowserWindow
  /** the GPU window kept after its probe (null: none); its entry is in the backend report once this resolves */
  gpu: Promise<GpuWindow | null>
}

export async function startElectronApp(): Promise<ElectronApp | null> {
  // Share the CLI's data directory so the desktop app and `elle` see the same experiments.
  app.setPath('userData', defaultDataDir())
  // One window per store: a second start focuses the running app instead of training beside it.
  if (!app.requestSingleInstanceLock()) {
    app.quit()
    return null
  }
  await app.whenReady()
  // The app needs no web permission: refuse requests, and answer "denied" to checks (which bypass the request handler).
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.defaultSession.setPermissionCheckHandler(() => false)
  // WebGPU here is Chromium's, in the GPU window probed below: the engine does not load Dawn's Node addon
  const backend = { ...backendRequestFromEnv(), webgpuByHost: true }
  const api = await openEngineApi({ dbPath: resolveDbPath(undefined), backend, prepareDefaultStream: true, mode: 'electron' })
  api.watchExternalChanges() // runs started from a terminal show up live too
  const page = pageUrl(path.join(rendererDir(), 'index.html'))
  registerIpc(api.handler, page)
  registerCorpusPicker(page)
  const window = createMainWindow(preloadFile(), page)
  // The GPU window is probed once the main window is up, in the background: start never waits for it, and its
  // entry reaches the report (and the status bar, as event backend.changed) when the page has answered.
  const gpu = probeGpuWindow({ page: gpuPageFile(), preload: gpuPreloadFile(), forced: (backend.flag ?? backend.env) === 'webgpu', engine: api })
  // a hidden window counts as open: without this, closing the main window would never quit the app (if the probe
  // still runs, the window it keeps is closed when it ends)
  window.on('closed', () => void gpu.then((kept) => kept?.close()))
  // contract events are for the app's pages, not for the GPU page
  forwardEvents(api, () =>
    BrowserWindow.getAllWindows()
      .filter((w) => !isGpuWindow(w))
      .map((w) => w.webContents)
  )
  app.on('second-instance', () => {
    if (window.isMinimized()) window.restore()
    window.focus()
  })
  app.on('window-all-closed', () => {
    // Active runs checkpoint before the app quits; they resume with the next start.
    void api.close().finally(() => app.quit())
  })
  return { api, window, gpu }
}
