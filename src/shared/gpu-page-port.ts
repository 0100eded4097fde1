// How the GPU page gets its MessagePort (no imports: the sandboxed GPU preload bundles only this).

/** The window message that hands the page its port (Electron: the GPU preload forwards the one main sent). */
export const GPU_PAGE_PORT_MESSAGE = 'elle-gpu-port'
/** The IPC channel on which Electron's main process sends the port to the GPU page's preload. */
export const GPU_PAGE_PORT_CHANNEL = 'elle:gpu-port'
