// The GPU page's preload (sandboxed, context-isolated): it exposes nothing. It only hands the page the MessagePort
// the main process sends on GPU_PAGE_PORT_CHANNEL, as a window message (a port cannot cross the context bridge
// any other way); the page then talks to the main process on that port alone.
import { ipcRenderer } from 'electron'
import { GPU_PAGE_PORT_CHANNEL, GPU_PAGE_PORT_MESSAGE } from '../shared/gpu-page-port'

/** the page's window (typed without the DOM library: this tsconfig is Node's) */
const page = globalThis as unknown as { postMessage(message: unknown, targetOrigin: string, transfer: unknown[]): void }

ipcRenderer.once(GPU_PAGE_PORT_CHANNEL, (event) => {
  // '*': the page is a file:// page, whose origin is opaque; this window is the page's own
  page.postMessage(GPU_PAGE_PORT_MESSAGE, '*', [...event.ports])
})
