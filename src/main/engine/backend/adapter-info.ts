// A WebGPU adapter described as plain data, the same way in Node (Dawn) and in the GPU page (Chromium's WebGPU):
// no Node import, so the page bundles it.
import type { GpuAdapter } from '../../../shared/gpu-page'

export { describeAdapter } from '../../../shared/gpu-page'

/** What WebGPU reports about an adapter (GPUAdapterInfo), as plain data (the GPU page's protocol type). */
export type WebGpuAdapterInfo = GpuAdapter

type InfoFields = Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>>

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software/i

/** The adapter's info as data; software when WebGPU says it is a fallback adapter or its name says so. */
export function adapterInfo(raw: InfoFields, fallback: boolean): WebGpuAdapterInfo {
  const field = (k: keyof InfoFields): string => String(raw[k] ?? '')
  const text = (['vendor', 'architecture', 'device', 'description'] as const).map(field).join(' ')
  return {
    vendor: field('vendor'),
    architecture: field('architecture'),
    device: field('device'),
    description: field('description'),
    software: fallback || SOFTWARE.test(text)
  }
}
