// A faithful in-process stand-in for the `electron` module (the binary cannot be installed here).
// It records what the adapter asks of Electron and wires ipcRenderer to ipcMain, so the preload and
// the main-process handlers talk to each other exactly as they would across Electron's IPC.
import { MessageChannel, type MessagePort } from 'node:worker_threads'

type Listener = (...args: unknown[]) => void

class Emitter {
  private readonly listeners = new Map<string, Listener[]>()
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener])
    return this
  }
  once(event: string, listener: Listener): this {
    const wrapped: Listener = (...args) => {
      this.removeListener(event, wrapped)
      listener(...args)
    }
    return this.on(event, wrapped)
  }
  removeListener(event: string, listener: Listener): this {
    this.listeners.set(
      event,
      (this.listeners.get(event) ?? []).filter((l) => l !== listener)
    )
    return this
  }
  emit(event: string, ...args: unknown[]): boolean {
    const list = this.listeners.get(event) ?? []
    for (const l of list) l(...args)
    return list.length > 0
  }
  listenerCount(event: string): number {
    return (this.listeners.get(event) ?? []).length
  }
}

export interface SentMessage {
  channel: string
  payload: unknown
}

class WebContentsDouble extends Emitter {
  readonly sent: SentMessage[] = []
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null
  url = ''
  destroyed = false
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload })
    // Deliver to the renderer side of the double (ipcRenderer listeners).
    ipcRenderer.deliver(channel, payload)
  }
  /** what webContents.postMessage sent: a channel, its message and the ports it transferred */
  readonly posted: Array<{ channel: string; message: unknown; transfer: MessagePortMain[] }> = []
  postMessage(channel: string, message: unknown, transfer: MessagePortMain[] = []): void {
    this.posted.push({ channel, message, transfer })
    // Deliver to the renderer side: Electron gives the preload's listener the ports in event.ports.
    ipcRenderer.emit(channel, { ports: transfer }, structuredClone(message))
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  /** Test helper: simulate the page trying to navigate; returns whether it was prevented. */
  tryNavigate(url: string): boolean {
    let prevented = false
    this.emit('will-navigate', { preventDefault: () => (prevented = true) }, url)
    return prevented
  }
}

export class BrowserWindow extends Emitter {
  static readonly all: BrowserWindow[] = []
  readonly webContents = new WebContentsDouble()
  loadedFile: string | null = null
  shown = false
  constructor(readonly options: Record<string, unknown> & { webPreferences?: Record<string, unknown> }) {
    super()
    BrowserWindow.all.push(this)
  }
  static getAllWindows(): BrowserWindow[] {
    return BrowserWindow.all
  }
  loadedUrl: string | null = null
  async loadFile(file: string): Promise<void> {
    this.loadedFile = file
    this.webContents.url = `file://${file}`
    this.emit('ready-to-show')
  }
  async loadURL(url: string): Promise<void> {
    this.loadedUrl = url
    this.webContents.url = url
    this.emit('ready-to-show')
  }
  show(): void {
    this.shown = true
  }
  destroyed = false
  destroy(): void {
    this.destroyed = true
    this.webContents.destroyed = true
    this.emit('closed')
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  minimized = false
  focused = false
  isMinimized(): boolean {
    return this.minimized
  }
  restore(): void {
    this.minimized = false
  }
  focus(): void {
    this.focused = true
  }
}

type InvokeHandler = (event: { senderFrame: { url: string } | null }, ...args: unknown[]) => unknown

class IpcMainDouble extends Emitter {
  readonly handlers = new Map<string, InvokeHandler>()
  handle(channel: string, handler: InvokeHandler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, handler)
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }
  /** Test helper: what Electron does when a renderer frame at `frameUrl` invokes `channel`. */
  async invokeFrom(frameUrl: string, channel: string, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    // Electron structured-clones arguments and results across processes.
    const result = await handler({ senderFrame: { url: frameUrl } }, ...structuredClone(args))
    return structuredClone(result)
  }
}
export const ipcMain = new IpcMainDouble()

/**
 * Electron's MessagePortMain over a Node MessagePort (messages are structured clones either way): 'message' events
 * carry {data, ports}, and nothing is delivered before start(), as in Electron. Tests take the far end from
 * webContents.posted and answer as the page would.
 */
export class MessagePortMain extends Emitter {
  private started = false
  private readonly queued: unknown[] = []
  constructor(readonly port: MessagePort) {
    super()
    port.on('message', (data: unknown) => (this.started ? this.emit('message', { data, ports: [] }) : this.queued.push(data)))
    port.on('close', () => this.emit('close'))
  }
  postMessage(message: unknown): void {
    this.port.postMessage(message)
  }
  start(): void {
    this.started = true
    for (const data of this.queued.splice(0)) this.emit('message', { data, ports: [] })
  }
  close(): void {
    this.port.close()
  }
}

export class MessageChannelMain {
  readonly port1: MessagePortMain
  readonly port2: MessagePortMain
  constructor() {
    const { port1, port2 } = new MessageChannel()
    this.port1 = new MessagePortMain(port1)
    this.port2 = new MessagePortMain(port2)
  }
}

class IpcRendererDouble extends Emitter {
  /** the URL of the page the preload runs in (what senderFrame.url reports to the main process) */
  pageUrl = ''
  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    return ipcMain.invokeFrom(this.pageUrl, channel, ...args)
  }
  deliver(channel: string, payload: unknown): void {
    this.emit(channel, {}, structuredClone(payload))
  }
}
export const ipcRenderer = new IpcRendererDouble()

export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld(key: string, api: unknown): void {
    contextBridge.exposed.set(key, api)
  }
}

export const powerSaveBlocker = {
  active: new Set<number>(),
  next: 1,
  start(_type: string): number {
    const id = powerSaveBlocker.next++
    powerSaveBlocker.active.add(id)
    return id
  },
  stop(id: number): void {
    powerSaveBlocker.active.delete(id)
  },
  isStarted(id: number): boolean {
    return powerSaveBlocker.active.has(id)
  }
}

export class Notification {
  static readonly shown: Array<{ title: string; body: string }> = []
  static isSupported(): boolean {
    return true
  }
  constructor(private readonly options: { title: string; body: string }) {}
  show(): void {
    Notification.shown.push(this.options)
  }
}

class AppDouble extends Emitter {
  readonly paths = new Map<string, string>()
  quitCalled = false
  /** false simulates another instance already holding the lock */
  singleInstance = true
  /** true simulates an installed (packaged) app; false is a development run */
  isPackaged = false
  requestSingleInstanceLock(): boolean {
    return this.singleInstance
  }
  whenReady(): Promise<void> {
    return Promise.resolve()
  }
  setPath(name: string, value: string): void {
    this.paths.set(name, value)
  }
  getPath(name: string): string {
    return this.paths.get(name) ?? `/tmp/electron-double/${name}`
  }
  quit(): void {
    this.quitCalled = true
  }
  exit(): void {
    this.quitCalled = true
  }
}
export const app = new AppDouble()

export const session = {
  defaultSession: {
    permissionHandler: null as null | ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void),
    permissionCheckHandler: null as null | ((contents: unknown, permission: string, requestingOrigin: string, details: unknown) => boolean),
    setPermissionRequestHandler(handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void): void {
      session.defaultSession.permissionHandler = handler
    },
    setPermissionCheckHandler(handler: (contents: unknown, permission: string, requestingOrigin: string, details: unknown) => boolean): void {
      session.defaultSession.permissionCheckHandler = handler
    }
  }
}

export const dialog = {
  errors: [] as Array<{ title: string; content: string }>,
  /** what the next showOpenDialog answers (the user's choice), and the options it was opened with */
  nextOpen: { canceled: true, filePaths: [] as string[] },
  opened: [] as Array<Record<string, unknown>>,
  async showOpenDialog(options: Record<string, unknown>): Promise<{ canceled: boolean; filePaths: string[] }> {
    dialog.opened.push(options)
    return dialog.nextOpen
  },
  showErrorBox(title: string, content: string): void {
    dialog.errors.push({ title, content })
  }
}

export type IpcMainInvokeEvent = { senderFrame: { url: string } | null }
export type IpcRendererEvent = Record<string, never>
export type WebContents = WebContentsDouble

export default { app, BrowserWindow, MessageChannelMain, ipcMain, ipcRenderer, contextBridge, powerSaveBlocker, Notification, session, dialog }
