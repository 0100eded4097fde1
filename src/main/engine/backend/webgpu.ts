// WebGPU without CUDA: tfjs's WebGPU backend on Dawn's Node bindings (npm `webgpu`, prebuilt for Linux, macOS and
// Windows; Linux needs only the GPU driver's Vulkan ICD). tfjs-backend-webgpu registers itself only in a browser
// (it looks for `window` and `navigator.gpu`), so here we request the adapter and device ourselves and register
// the backend with them. The adapter is probed first: a software one (Mesa's lavapipe, SwiftShader) is slower
// than wasm and is used only when asked for by name.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { adapterInfo, type WebGpuAdapterInfo } from './adapter-info'

export { describeAdapter, type WebGpuAdapterInfo } from './adapter-info'

const require = createRequire(import.meta.url)

/** The subset of the WebGPU API this module touches (the full types live in @webgpu/types). */
interface GpuAdapterLike {
  readonly info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & { isFallbackAdapter?: boolean }
  readonly isFallbackAdapter?: boolean
  readonly features: { has(name: string): boolean }
  readonly limits: Record<string, number>
  requestDevice(descriptor?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<unknown>
  requestAdapterInfo?(): Promise<Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>>>
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>
}
interface DawnModule {
  create(flags: string[]): GpuLike
  globals: Record<string, unknown>
}
interface WebGpuBackendModule {
  WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend
}

export const WEBGPU_PACKAGES = { dawn: 'webgpu', tfjs: '@tensorflow/tfjs-backend-webgpu' } as const

export class WebGpuUnavailable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WebGpuUnavailable'
  }
}

let gpu: GpuLike | undefined
let probed: { adapter: GpuAdapterLike; info: WebGpuAdapterInfo } | undefined

async function loadDawn(): Promise<GpuLike> {
  if (gpu) return gpu
  const dawn = (await import(WEBGPU_PACKAGES.dawn as string)) as DawnModule
  // GPUBufferUsage, GPUMapMode, ... are globals in a browser; tfjs-backend-webgpu reads them there.
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value
  gpu = dawn.create([])
  return gpu
}

/**
 * Why a hardware adapter cannot exist here, without asking Dawn: on Linux every GPU driver (Mesa's, NVIDIA's) works
 * through a device node, so a machine with neither /dev/dri/renderD* nor /dev/nvidia* has at most a software adapter.
 * Probing anyway costs a second at every start and makes Dawn print warnings on stderr (it cannot be silenced).
 * Null where a GPU may exist (another OS, or a device node present).
 */
export function noGpuDevice(platform: NodeJS.Platform = process.platform, devDir = '/dev'): string | null {
  if (platform !== 'linux') return null
  const list = (dir: string): string[] => {
    try {
      return fs.readdirSync(dir)
    } catch {
      return []
    }
  }
  const render = list(path.join(devDir, 'dri')).some((n) => n.startsWith('renderD'))
  const nvidia = list(devDir).some((n) => /^nvidia\d+$/.test(n))
  return render || nvidia
    ? null
    : `no GPU device (${path.join(devDir, 'dri', 'renderD*')} or ${path.join(devDir, 'nvidia*')}), so at most a software adapter; use it with --backend webgpu or ELLE_BACKEND=webgpu`
}

/**
 * Finds Dawn's default (high-performance) adapter. Throws WebGpuUnavailable naming why there is none: the package
 * missing, or no adapter (Linux: no Vulkan driver; Mesa's lavapipe in `mesa-vulkan-drivers` 25.x gives a software one).
 */
export async function probeWebGpu(): Promise<WebGpuAdapterInfo> {
  if (probed) return probed.info
  let dawn: GpuLike
  try {
    dawn = await loadDawn()
  } catch (error) {
    throw new WebGpuUnavailable(`${WEBGPU_PACKAGES.dawn} (Dawn's Node bindings) did not load: ${(error as Error).message.split('\n')[0]}`)
  }
  const adapter = await dawn.requestAdapter({ powerPreference: 'high-performance' })
  if (!adapter) throw new WebGpuUnavailable(`${WEBGPU_PACKAGES.dawn}: no WebGPU adapter (Linux needs a Vulkan driver: the GPU's, or Mesa's lavapipe for a software one)`)
  const raw = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {}
  const info = adapterInfo(raw, Boolean(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter))
  probed = { adapter, info }
  return info
}

/**
 * Registers tfjs's 'webgpu' backend on the probed adapter (call probeWebGpu first). The device asks for the adapter's
 * own limits (tfjs sizes its buffers and workgroups by them), as tfjs-backend-webgpu does in a browser.
 */
export async function registerWebGpuBackend(): Promise<void> {
  if (!probed) await probeWebGpu()
  const { adapter } = probed!
  if (tf.findBackendFactory('webgpu')) return
  // Loaded before navigator.gpu exists, so it does not register its own (browser) factory for 'webgpu'.
  const mod = require(WEBGPU_PACKAGES.tfjs) as WebGpuBackendModule
  const limits = adapter.limits
  // tfjs asks for these adapter limits in a browser too (it sizes its buffers and workgroups by them). Not
  // maxStorageBuffersPerShaderStage: it stays at WebGPU's default 8, what every adapter gives (ops.addMany).
  const wanted = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup'
  ]
  const requiredLimits: Record<string, number> = {}
  for (const k of wanted) if (typeof limits[k] === 'number') requiredLimits[k] = limits[k]
  const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : []
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits })
  // The backend checks navigator.gpu before it starts (Node 20 has no navigator; Node 21+ has one without gpu).
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown }
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true })
  const info = probed!.info
  tf.registerBackend('webgpu', () => new mod.WebGPUBackend(device, { vendor: info.vendor, architecture: info.architecture }), 0)
}
