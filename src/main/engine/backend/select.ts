// Choosing the tensor backend: tfjs-node-gpu, then WebGPU on a hardware adapter, then tfjs-node, then wasm with
// onnxruntime's native matmul (wasm-native), then wasm, then cpu.
// The first that loads wins unless a flag or ELLE_BACKEND asks for a specific one; the report says
// why every better backend was skipped, so users know what installing it would give them.
// WebGPU on a software adapter (Mesa's lavapipe) is slower than wasm: used only when asked for by name.
import os from 'node:os'
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { describeAdapter, noGpuDevice, probeWebGpu, registerWebGpuBackend, WEBGPU_PACKAGES, WebGpuUnavailable } from './webgpu'
import { BACKEND_NAMES, type BackendCandidate, type BackendName, type BackendReport, type MatmulKernel } from '../../../shared/contract'
import { installNativeMatmul, type NativeMatmulInfo } from './native-matmul'

const require = createRequire(import.meta.url)

interface BackendSpec {
  name: BackendName
  package: string
  /** the name tfjs registers the backend under */
  tfName: string
  /** packages it needs besides `package` */
  alsoNeeds?: string[]
  /** `forced`: asked for by name (WebGPU then accepts a software adapter) */
  load(forced: boolean): Promise<void>
  missingHint: string
}

/** A backend that loads but is not worth using unasked (status 'skipped', not 'failed'). */
class NotPreferred extends Error {}

const SPECS: readonly BackendSpec[] = [
  {
    name: 'tensorflow-gpu',
    package: '@tensorflow/tfjs-node-gpu',
    tfName: 'tensorflow',
    load: async () => void (await import('@tensorflow/tfjs-node-gpu' as string)),
    missingHint: 'optional dependency not installed (it needs libtensorflow with CUDA, downloaded at install time)'
  },
  {
    name: 'webgpu',
    package: WEBGPU_PACKAGES.dawn,
    tfName: 'webgpu',
    alsoNeeds: [WEBGPU_PACKAGES.tfjs],
    load: async (forced) => {
      const noDevice = forced ? null : noGpuDevice()
      if (noDevice) throw new NotPreferred(`${WEBGPU_PACKAGES.dawn}: ${noDevice}`)
      let info
      try {
        info = await probeWebGpu()
      } catch (error) {
        if (error instanceof WebGpuUnavailable) throw new NotPreferred(error.message)
        throw error
      }
      if (info.software && !forced) {
        throw new NotPreferred(
          `${WEBGPU_PACKAGES.dawn}: only a software adapter (${describeAdapter(info)}), slower than the CPU backends; use it with --backend webgpu or ELLE_BACKEND=webgpu`
        )
      }
      await registerWebGpuBackend()
    },
    missingHint: "optional dependency not installed (Dawn's WebGPU for Node: prebuilt for Linux, macOS and Windows)"
  },
  {
    name: 'tensorflow',
    package: '@tensorflow/tfjs-node',
    tfName: 'tensorflow',
    load: async () => void (await import('@tensorflow/tfjs-node' as string)),
    missingHint: 'optional dependency not installed (it needs libtensorflow, downloaded at install time)'
  },
  {
    name: 'wasm-native',
    package: 'onnxruntime-node',
    tfName: 'wasm',
    load: async () => {
      await import('@tensorflow/tfjs-backend-wasm')
      if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not initialise the "wasm" backend')
      await tf.ready()
      native = installNativeMatmul(threadsForOrt)
    },
    missingHint: 'optional dependency not installed (its CPU libraries ship inside the package for Linux, macOS and Windows on x64 and arm64)'
  },
  {
    name: 'wasm',
    package: '@tensorflow/tfjs-backend-wasm',
    tfName: 'wasm',
    load: async () => void (await import('@tensorflow/tfjs-backend-wasm')),
    missingHint: 'package not installed'
  },
  { name: 'cpu', package: '@tensorflow/tfjs', tfName: 'cpu', load: async () => undefined, missingHint: 'package not installed' }
]

export class BackendError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BackendError'
  }
}

export interface BackendRequest {
  /** from a command-line flag (wins over the environment) */
  flag?: string
  /** from ELLE_BACKEND */
  env?: string
  /**
   * The host provides WebGPU itself and reports it (Electron: Chromium's WebGPU in its GPU window), so Dawn's Node
   * addon, which cannot run there, is not loaded. Training does not run on the host's WebGPU yet: asked for by name,
   * webgpu falls back to the automatic order and the report says so.
   */
  webgpuByHost?: boolean
}

/** Why webgpu is not this process's backend when the host provides WebGPU (`webgpuByHost`). */
function hostWebGpuReason(asked: string | null, active: BackendName): string {
  const where = "webgpu: in this host WebGPU runs in the host's GPU window (Chromium's own), not through Dawn's Node addon"
  if (!asked) return `${where}; the host reports its adapter when it has probed the window; training uses ${active}`
  return `${where}: asked for by ${asked}, runs compute their gradients on the GPU window once the host has probed it (their worker keeps the model and the optimizer on ${active}); until then, and without an adapter, training uses ${active}`
}

function parseName(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName
  throw new BackendError(`unknown backend "${value}" from ${source}; expected one of ${BACKEND_NAMES.join(', ')}`)
}

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg)
    return true
  } catch {
    return false
  }
}

function threadsFor(name: BackendName): number {
  // tfjs-node uses all cores through TensorFlow's thread pool; the wasm backend runs one thread in Node
  // (wasm-native too: its matmuls use ELLE_ORT_THREADS, reported under matmul).
  return name === 'tensorflow' || name === 'tensorflow-gpu' ? os.cpus().length : 1
}

/** onnxruntime's intra-op threads per matmul: ELLE_ORT_THREADS, default 1 (one per training worker). */
export function ortThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ELLE_ORT_THREADS
  if (raw === undefined || raw === '') return 1
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new BackendError(`ELLE_ORT_THREADS must be an integer from 1 to 256, got "${raw}"`)
  return n
}

let native: NativeMatmulInfo | undefined
let threadsForOrt = 1
let selected: BackendReport | undefined

function matmulFor(active: BackendName, candidates: BackendCandidate[]): MatmulKernel {
  const nativeSkip = candidates.find((c) => c.name === 'wasm-native' && (c.status === 'skipped' || c.status === 'failed'))
  const skipped = nativeSkip ? `onnxruntime-mlas: ${nativeSkip.reason}` : null
  switch (active) {
    case 'tensorflow':
    case 'tensorflow-gpu':
      return {
        kernel: 'tensorflow',
        threads: threadsFor(active),
        detail: `TensorFlow's own kernels (${active === 'tensorflow-gpu' ? 'CUDA' : 'Eigen, every core'})`,
        skipped: null
      }
    case 'webgpu':
      return { kernel: 'webgpu', threads: 1, detail: "tfjs-backend-webgpu's shaders on the GPU adapter (Dawn)", skipped: null }
    case 'wasm-native':
      return {
        kernel: 'onnxruntime-mlas',
        threads: native!.threads,
        detail: `onnxruntime-node ${native!.version} MLAS GEMM on the wasm heap, ${native!.threads} thread${native!.threads === 1 ? '' : 's'} (ELLE_ORT_THREADS); other ops tfjs-wasm`,
        skipped: null
      }
    case 'wasm':
      return { kernel: 'xnnpack-wasm', threads: 1, detail: 'tfjs-wasm XNNPACK GEMM (SIMD128, one thread)', skipped }
    case 'cpu':
      return { kernel: 'tfjs-js', threads: 1, detail: "tfjs's plain JavaScript kernels", skipped }
  }
}

/**
 * Activate the best available backend in this process's tfjs and report the choice.
 * Idempotent: a process has one backend for its lifetime (native TensorFlow cannot be unloaded).
 */
export async function selectBackend(request: BackendRequest = {}): Promise<BackendReport> {
  if (selected) return selected
  let forced = request.flag ? parseName(request.flag, '--backend') : request.env ? parseName(request.env, 'ELLE_BACKEND') : undefined
  let requestedBy: BackendReport['requestedBy'] = request.flag ? 'flag' : request.env ? 'env' : 'auto'
  // webgpu by name where only the host has WebGPU: the automatic order chooses, and the report says why
  const askedHostWebGpu = request.webgpuByHost && forced === 'webgpu' ? `${requestedBy === 'flag' ? '--backend' : 'ELLE_BACKEND'}=webgpu` : null
  if (askedHostWebGpu) {
    forced = undefined
    requestedBy = 'auto'
  }
  threadsForOrt = ortThreads()
  const candidates: BackendCandidate[] = []
  let active: BackendName | undefined

  for (const spec of SPECS) {
    if (spec.name === 'webgpu' && request.webgpuByHost) {
      // the reason names the backend training uses: completed once it is known
      candidates.push({ name: spec.name, package: spec.package, status: 'skipped', reason: null })
      continue
    }
    if (active) {
      candidates.push({ name: spec.name, package: spec.package, status: 'available', reason: null })
      continue
    }
    if (forced && spec.name !== forced) {
      candidates.push({ name: spec.name, package: spec.package, status: 'skipped', reason: `not requested (${requestedBy === 'flag' ? '--backend' : 'ELLE_BACKEND'}=${forced})` })
      continue
    }
    const missing = [spec.package, ...(spec.alsoNeeds ?? [])].find((p) => !isInstalled(p))
    if (missing) {
      candidates.push({ name: spec.name, package: spec.package, status: 'skipped', reason: `${missing}: ${spec.missingHint}` })
      continue
    }
    try {
      await spec.load(forced === spec.name)
      if (!(await tf.setBackend(spec.tfName))) throw new Error(`tfjs could not initialise the "${spec.tfName}" backend`)
      await tf.ready()
      active = spec.name
      candidates.push({ name: spec.name, package: spec.package, status: 'active', reason: null })
    } catch (error) {
      if (error instanceof NotPreferred) {
        candidates.push({ name: spec.name, package: spec.package, status: 'skipped', reason: error.message })
        continue
      }
      candidates.push({ name: spec.name, package: spec.package, status: 'failed', reason: `${spec.package} failed to load: ${(error as Error).message.split('\n')[0]}` })
    }
  }
  if (!active) {
    const why = candidates.find((c) => c.name === forced)?.reason ?? 'no backend could be loaded'
    throw new BackendError(forced ? `backend "${forced}" was requested but is unusable: ${why}` : why)
  }
  const hostWebGpu = request.webgpuByHost ? candidates.find((c) => c.name === 'webgpu') : undefined
  if (hostWebGpu) hostWebGpu.reason = hostWebGpuReason(askedHostWebGpu, active)
  selected = { active, requestedBy, candidates, threads: threadsFor(active), matmul: matmulFor(active, candidates) }
  return selected
}

export function backendRequestFromEnv(flag?: string): BackendRequest {
  return { flag, env: process.env.ELLE_BACKEND || undefined }
}
