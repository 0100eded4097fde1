// The GPU page's script (a browser page, bundled by scripts/build.mjs into out/gpu-page/): tfjs on Chromium's own
// WebGPU, driving a GpuSession. It waits for its port in a window message (GPU_PAGE_PORT_MESSAGE; in Electron the
// GPU preload forwards the MessagePort main sent it) and answers every request on that port. Only the first port
// is taken. Typed here without the DOM library (the engine's tsconfig is Node's): the few browser objects it touches.
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-webgpu' // registers 'webgpu' in a browser with navigator.gpu
import { GPU_PAGE_PORT_MESSAGE, type GpuAdapter } from '../../../../shared/gpu-page'
import { adapterInfo } from '../adapter-info'
import { GpuSession } from './session'

interface PortLike {
  onmessage: ((event: { data: unknown }) => void) | null
  postMessage(message: unknown, transfer?: unknown[]): void
}
interface AdapterLike {
  readonly info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & { isFallbackAdapter?: boolean }
  readonly isFallbackAdapter?: boolean
}
interface PageGlobal {
  navigator: { gpu?: { requestAdapter(options?: { powerPreference?: 'high-performance' }): Promise<AdapterLike | null> } }
  addEventListener(type: 'message', listener: (event: { data: unknown; ports: readonly PortLike[]; source: unknown }) => void): void
  /** set once the page is ready for its port (tests wait for it) */
  elleGpuPage?: { ready: true }
}

const page = globalThis as unknown as PageGlobal

async function adapter(): Promise<GpuAdapter> {
  const gpu = page.navigator.gpu
  if (!gpu) throw new Error('this page has no WebGPU (navigator.gpu is missing)')
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  if (!a) throw new Error('WebGPU has no adapter here')
  return adapterInfo(a.info ?? {}, Boolean(a.info?.isFallbackAdapter ?? a.isFallbackAdapter))
}

/** Starts tfjs on WebGPU (before the first model is built) and describes the adapter; a failure is the init's answer. */
async function webgpuAdapter(): Promise<GpuAdapter> {
  const info = await adapter()
  if (tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend')
  await tf.ready()
  return info
}

let port: PortLike | null = null
page.addEventListener('message', (event) => {
  if (port || event.data !== GPU_PAGE_PORT_MESSAGE || !event.ports[0]) return
  const own = event.ports[0]
  port = own
  const session = new GpuSession(webgpuAdapter)
  // one request at a time, in order: each waits for the one before
  let queue: Promise<void> = Promise.resolve()
  own.onmessage = ({ data }) => {
    queue = queue.then(async () => {
      const response = await session.handle(data)
      // the answer's arrays are moved, not copied (each was read for this answer alone)
      const result = response.ok ? (response.result as { weights?: Array<{ data: Float32Array }>; grads?: Array<{ data: Float32Array }> }) : null
      own.postMessage(
        response,
        [...(result?.weights ?? []), ...(result?.grads ?? [])].map((w) => w.data.buffer)
      )
    })
  }
})
page.elleGpuPage = { ready: true }
