// Where the app shell's built files are (renderer, preload, Electron main), for the adapters that serve or
// launch them. The installation itself is located by the engine, which needs it for its own worker bundles.
import path from 'node:path'
import { installRoot, mainBundle } from './engine/install-paths'

export const rendererDir = (): string => path.join(installRoot(), 'out', 'renderer')
export const preloadFile = (): string => path.join(installRoot(), 'out', 'preload', 'index.cjs')
export const electronMainFile = (): string => mainBundle('electron.js')
/** The GPU page (docs/webgpu.md): tfjs on Chromium's WebGPU, loaded by the Electron adapter in a hidden window. */
export const gpuPageFile = (): string => path.join(installRoot(), 'out', 'gpu-page', 'index.html')
export const gpuPreloadFile = (): string => path.join(installRoot(), 'out', 'preload', 'gpu.cjs')
