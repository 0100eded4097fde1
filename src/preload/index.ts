// The sandboxed preload: exposes exactly three functions to the renderer through contextBridge.
// No Node, no ipcRenderer object, no arbitrary channels reach the page.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { isMethod } from '../shared/contract'
import { IPC_EVENT_CHANNEL, IPC_PICK_CHANNEL, IPC_RPC_CHANNEL, type IpcResponse, type PickResponse, type PreloadBridge } from '../shared/ipc'

const bridge: PreloadBridge = {
  async invoke(method, params) {
    // Cheap first gate; the main process validates again with the full schemas.
    if (!isMethod(method)) return { ok: false, error: { code: 'bad_request', message: `unknown method ${JSON.stringify(method)}` } }
    return (await ipcRenderer.invoke(IPC_RPC_CHANNEL, { method, params })) as IpcResponse
  },
  onEvent(listener) {
    const forward = (_event: IpcRendererEvent, payload: unknown) => listener(payload)
    ipcRenderer.on(IPC_EVENT_CHANNEL, forward)
    return () => void ipcRenderer.removeListener(IPC_EVENT_CHANNEL, forward)
  },
  async pickCorpus(kind) {
    return (await ipcRenderer.invoke(IPC_PICK_CHANNEL, kind)) as PickResponse
  }
}

contextBridge.exposeInMainWorld('elle', bridge)
