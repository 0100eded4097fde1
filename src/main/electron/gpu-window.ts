// WebGPU in Electron (docs/webgpu.md): Dawn's Node addon cannot load in Electron, but Electron's Chromium has WebGPU
// of its own. The main process owns one hidden window on the GPU page (out/gpu-page: tfjs, its WebGPU backend and the
// engine's model code) and talks to it over a MessageChannelMain port with the protocol of src/shared/gpu-page.ts,
// validating every answer. If the window cannot start WebGPU, the backend report says why and training keeps the
// next backend.
import { BrowserWindow, MessageChannelMain, type MessagePortMain } from 'electron'
import type { BackendName, BackendReport, HostBackendCandidate } from '../../shared/contract'
import type { GpuPageRelay, GpuReplicaRequest } from '../engine/api/facade'
import { describeAdapter, GPU_PAGE_PORT_CHANNEL, GPU_RESULTS, GpuResponse, type GpuAdapter, type GpuOp, type GpuRequestInput, type GpuResultOf } from '../../shared/gpu-page'
import { SECURE_WEB_PREFERENCES } from './web-preferences'

/** The hidden window's options: never shown, sandboxed and isolated like the main window, and never throttled (it computes). */
export function gpuWindowOptions(preload: string): Electron.BrowserWindowConstructorOptions {
  return {
    show: false,
    width: 320,
    height: 240,
    title: 'ELLE GPU',
    skipTaskbar: true,
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload, backgroundThrottling: false }
  }
}

/** A request without its id (the window numbers them). */
export type GpuCall<O extends GpuOp> = Omit<Extract<GpuRequestInput, { op: O }>, 'id'>

interface Pending {
  op: GpuOp
  resolve(result: unknown): void
  reject(error: Error): void
}

/** One hidden window on the GPU page, and the port it answers on. */
export class GpuWindow {
  private next = 1
  private readonly pending = new Map<number, Pending>()
  /** why the window cannot answer any more (null: it can) */
  private ended: string | null = null
  private readonly endListeners: Array<(reason: string) => void> = []

  constructor(
    readonly window: BrowserWindow,
    private readonly port: MessagePortMain
  ) {
    port.on('message', (event) => this.receive(event.data))
    port.on('close', () => this.end('the GPU page closed its port'))
    port.start()
    window.webContents.on('render-process-gone', (_event, details) => this.end(`the GPU page's renderer is gone (${details.reason})`))
    window.on('closed', () => this.end('the GPU window was closed'))
  }

  /** Sends one request; resolves with its validated result, rejects with the page's error or why the answer is not valid. */
  request<O extends GpuOp>(call: GpuCall<O> & { op: O }): Promise<GpuResultOf<O>> {
    if (this.ended) return Promise.reject(new Error(this.ended))
    const id = this.next++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op: call.op, resolve: resolve as (r: unknown) => void, reject })
      this.port.postMessage({ ...call, id })
    })
  }

  private receive(raw: unknown): void {
    const response = GpuResponse.safeParse(raw)
    // an answer that names no request cannot be routed: everything waiting fails, since its answer may be lost
    if (!response.success) return this.end(`the GPU page sent an invalid answer: ${response.error.issues[0]?.message ?? 'unknown'}`)
    const waiting = this.pending.get(response.data.id)
    if (!waiting) return
    this.pending.delete(response.data.id)
    if (!response.data.ok) return waiting.reject(new Error(response.data.error))
    const result = GPU_RESULTS[waiting.op].safeParse(response.data.result)
    if (!result.success)
      waiting.reject(
        new Error(`the GPU page's answer to ${waiting.op} is not valid: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
      )
    else waiting.resolve(result.data)
  }

  /** The page's requests of a run's gradient replica (the engine's GpuPageRelay), sent as they come. */
  relay(device: string): GpuPageRelay {
    return { device, request: (call: GpuReplicaRequest) => this.request(call as GpuCall<GpuOp> & { op: GpuOp }) }
  }

  /** Called once with why, when the window stops answering (renderer gone, port closed, an invalid answer; not when the host closes it). */
  onEnd(listener: (reason: string) => void): void {
    if (this.ended) listener(this.ended)
    else this.endListeners.push(listener)
  }

  private end(reason: string): void {
    if (this.ended) return
    this.ended = reason
    for (const p of this.pending.values()) p.reject(new Error(reason))
    this.pending.clear()
    for (const listener of this.endListeners.splice(0)) listener(reason)
  }

  close(): void {
    this.endListeners.length = 0
    this.end('the GPU window was closed')
    this.port.close()
    if (!this.window.isDestroyed()) this.window.destroy()
  }
}

const gpuWindows = new WeakSet<BrowserWindow>()
/** Whether a window is a GPU window (the app's events and dialogs are not for it). */
export const isGpuWindow = (window: BrowserWindow): boolean => gpuWindows.has(window)

/** Opens the hidden window on the GPU page and hands the page its port (after the page's script has run). */
export async function openGpuWindow(page: string, preload: string): Promise<GpuWindow> {
  const window = new BrowserWindow(gpuWindowOptions(preload))
  gpuWindows.add(window)
  // the page never navigates or opens windows
  window.webContents.on('will-navigate', (event) => event.preventDefault())
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  try {
    await window.loadFile(page)
  } catch (error) {
    window.destroy()
    throw error
  }
  const { port1, port2 } = new MessageChannelMain()
  const gpu = new GpuWindow(window, port1)
  window.webContents.postMessage(GPU_PAGE_PORT_CHANNEL, null, [port2])
  return gpu
}

/** The GPU window started, with its adapter; or why it could not start WebGPU. */
export type GpuWindowStart = { ok: true; gpu: GpuWindow; adapter: GpuAdapter } | { ok: false; reason: string }

/** How long the page may take to load tfjs and answer for its adapter before the probe gives up on it. */
export const GPU_PROBE_TIMEOUT_MS = 60_000

/** Opens the window and asks the page for its adapter (which starts tfjs on WebGPU there); never throws. */
export async function startGpuWindow(page: string, preload: string, timeoutMs = GPU_PROBE_TIMEOUT_MS): Promise<GpuWindowStart> {
  let gpu: GpuWindow | null = null
  let timer: NodeJS.Timeout | undefined
  try {
    gpu = await openGpuWindow(page, preload)
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the GPU page did not answer for its adapter within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs)
    })
    const adapter = await Promise.race([gpu.request({ op: 'adapter' }), late])
    return { ok: true, gpu, adapter }
  } catch (error) {
    gpu?.close()
    return { ok: false, reason: (error as Error).message }
  } finally {
    clearTimeout(timer)
  }
}

const WHERE = "Electron's Chromium"
const HOST_LABEL = 'Chromium window'

/**
 * The backend report's entry for the GPU window, by the rule of the Node path (engine/backend/select.ts): a hardware
 * adapter is available; a software one (SwiftShader) only when asked for by name; a window that could not start
 * WebGPU failed, saying why. `trains`: the window was handed to the engine (Engine.attachGpuPage), so runs compute
 * their gradients on it while their worker keeps the model and optimizer on `active`, the engine's backend; otherwise
 * the entry says which backend training uses.
 */
export function gpuWindowCandidate(start: GpuWindowStart, forced: boolean, active: BackendName, trains = false): HostBackendCandidate {
  const candidate = { name: 'webgpu', package: "electron (Chromium's WebGPU in a hidden window)" } as const
  const instead = forced ? `asked for by name, training uses ${active} instead` : `training uses ${active}`
  if (!start.ok)
    return {
      ...candidate,
      status: 'failed',
      reason: `webgpu (${WHERE}): the GPU window could not start WebGPU: ${start.reason}; ${instead}`,
      host: { label: HOST_LABEL, device: null, trains: false }
    }
  const host = { label: HOST_LABEL, device: describeAdapter(start.adapter), trains: false }
  if (trains && (!start.adapter.software || forced))
    return {
      ...candidate,
      status: 'available',
      reason: `webgpu (${WHERE}): ${describeAdapter(start.adapter)} trains: runs compute their gradients on the GPU window, their worker keeps the model, the optimizer and validation on ${active}${forced ? ' (asked for by name)' : ''}`,
      host: { ...host, trains: true }
    }
  if (start.adapter.software && !forced)
    return {
      ...candidate,
      status: 'skipped',
      reason: `webgpu (${WHERE}): only a software adapter (${describeAdapter(start.adapter)}), slower than the CPU backends; use it with --backend webgpu or ELLE_BACKEND=webgpu`,
      host
    }
  return {
    ...candidate,
    status: 'available',
    reason: `webgpu (${WHERE}): ${describeAdapter(start.adapter)} is available, but this engine was not given the window to train on: ${instead}`,
    host
  }
}

/** What the Electron adapter probes with: the built page and preload, whether WebGPU was asked for by name, the engine. */
export interface GpuProbeOptions {
  page: string
  preload: string
  /** asked for by name (--backend webgpu, ELLE_BACKEND=webgpu): a software adapter is kept too */
  forced: boolean
  /** the engine's side: its active backend, where the entry goes, and where a kept window goes to train runs */
  engine: { readonly backend: BackendReport; reportHostBackend(entry: HostBackendCandidate): unknown; attachGpuPage?(relay: GpuPageRelay | null): unknown }
  timeoutMs?: number
  log?: (message: string) => void
}

/**
 * Starts the GPU window, reports its entry to the engine, and keeps the window only when it has something to offer:
 * a hardware adapter, or any adapter when WebGPU was asked for by name. A kept window is handed to the engine to train
 * runs on (attachGpuPage), and taken back when it stops answering (its entry then says why). Resolves with the kept
 * window (null: none); never throws (a failure is the entry's reason, or a log line if even reporting failed).
 */
export async function probeGpuWindow(options: GpuProbeOptions): Promise<GpuWindow | null> {
  const log = options.log ?? ((message: string) => console.error(message))
  let kept: GpuWindow | null = null
  try {
    const start = await startGpuWindow(options.page, options.preload, options.timeoutMs)
    if (start.ok && (!start.adapter.software || options.forced)) kept = start.gpu
    else if (start.ok) start.gpu.close()
    const { engine } = options
    let trains = false
    if (start.ok && kept && engine.attachGpuPage) {
      engine.attachGpuPage(kept.relay(describeAdapter(start.adapter)))
      trains = true
      const device = describeAdapter(start.adapter)
      kept.onEnd((reason) => {
        try {
          engine.attachGpuPage?.(null)
          engine.reportHostBackend({
            name: 'webgpu',
            package: "electron (Chromium's WebGPU in a hidden window)",
            status: 'failed',
            reason: `webgpu (${WHERE}): the GPU window stopped (${reason}); runs started from now on train on ${engine.backend.active}`,
            host: { label: HOST_LABEL, device, trains: false }
          })
        } catch (error) {
          log(`the GPU window stopped (${reason}), and the engine could not be told: ${(error as Error).message}`)
        }
      })
    }
    engine.reportHostBackend(gpuWindowCandidate(start, options.forced, engine.backend.active, trains))
    return kept
  } catch (error) {
    log(`the GPU window's probe failed: ${(error as Error).message}`)
    return kept
  }
}
