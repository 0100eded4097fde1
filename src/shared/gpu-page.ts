// The GPU page's message protocol (docs/webgpu.md, "Electron: a hidden renderer"): the page runs the model and
// its training step on Chromium's own WebGPU; its host (Electron's main process through a MessagePort, or a test
// through a page script) sends requests and gets one response per request, matched by id. Typed arrays travel as
// structured clones (transferable). Both sides validate what they receive with these schemas.
import { z } from 'zod'

export { GPU_PAGE_PORT_CHANNEL, GPU_PAGE_PORT_MESSAGE } from './gpu-page-port'

const positiveInt = z.number().int().positive()

/** A ModelConfig (engine/model/config.ts) as data; the page validates its coherence when it builds the model. */
export const GpuModelConfig = z.object({
  kind: z.enum(['bert', 'gpt']),
  layers: positiveInt,
  heads: positiveInt,
  headSize: positiveInt,
  hidden: positiveInt,
  ffn: positiveInt,
  vocabSize: positiveInt,
  maxLength: positiveInt,
  dropout: z.number().min(0).max(1),
  norm: z.enum(['post', 'pre'])
})

const finite = z.number().finite()
const int32s = z.custom<Int32Array>((v) => v instanceof Int32Array, { message: 'expected an Int32Array' })
const float32s = z.custom<Float32Array>((v) => v instanceof Float32Array, { message: 'expected a Float32Array' })

/** One micro-batch: [rows, cols] int32 ids and, for masked LM, its labels (IGNORE_INDEX: no loss). */
export const GpuMicroBatch = z
  .object({
    shape: z.tuple([positiveInt, positiveInt]),
    inputIds: int32s,
    labels: int32s.optional()
  })
  .refine((b) => b.inputIds.length === b.shape[0] * b.shape[1] && (!b.labels || b.labels.length === b.inputIds.length), {
    message: 'inputIds (and labels) must hold rows x cols values'
  })
export type GpuMicroBatch = z.infer<typeof GpuMicroBatch>

export const GpuRequest = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('init'),
    id: z.number().int(),
    model: GpuModelConfig,
    /** the model's initialisation seed */
    seed: z.number().int(),
    trainer: z
      .object({
        clipNorm: finite.min(0).optional(),
        padId: z.number().int().optional(),
        adam: z.object({ beta1: finite.optional(), beta2: finite.optional(), eps: finite.optional(), weightDecay: finite.optional() }).strict().optional()
      })
      .strict()
      .default({})
  }),
  /** One update; the host owns the schedule and the seeds, so each step says its rate and dropout seed. */
  z.object({ op: z.literal('step'), id: z.number().int(), micro: z.array(GpuMicroBatch).min(1), lr: finite.min(0), seed: z.number().int() }),
  /** Start WebGPU (if need be) and describe the adapter, without a model: whether the page can compute at all. */
  z.object({ op: z.literal('adapter'), id: z.number().int() }),
  z.object({ op: z.literal('readWeights'), id: z.number().int() }),
  z.object({ op: z.literal('dispose'), id: z.number().int() })
])
export type GpuRequest = z.infer<typeof GpuRequest>
/** A request as the host writes it (the trainer options may be left out). */
export type GpuRequestInput = z.input<typeof GpuRequest>

export const GpuAdapter = z.object({
  vendor: z.string(),
  architecture: z.string(),
  device: z.string(),
  description: z.string(),
  /** a CPU implementation (SwiftShader, lavapipe): works, but slower than the CPU backends */
  software: z.boolean()
})
export type GpuAdapter = z.infer<typeof GpuAdapter>

/** A one-line name of the adapter for reports: "llvmpipe (LLVM 19.1.7, 256 bits), software". */
export function describeAdapter(info: GpuAdapter): string {
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unnamed adapter'
  return `${name}${info.software ? ', software' : ''}`
}

export const GpuInitResult = z.object({ backend: z.string(), adapter: GpuAdapter })
export const GpuStepResult = z.object({ loss: finite, gradNorm: finite, penalty: finite, lr: finite, step: z.number().int() })
export const GpuWeights = z.object({ weights: z.array(z.object({ role: z.string(), shape: z.array(z.number().int().min(0)), data: float32s })) })
export const GpuDisposed = z.object({})
export type GpuInitResult = z.infer<typeof GpuInitResult>
export type GpuStepResult = z.infer<typeof GpuStepResult>
export type GpuWeights = z.infer<typeof GpuWeights>

/** What each request answers. */
export const GPU_RESULTS = { init: GpuInitResult, adapter: GpuAdapter, step: GpuStepResult, readWeights: GpuWeights, dispose: GpuDisposed } as const
export type GpuOp = keyof typeof GPU_RESULTS
export type GpuResultOf<O extends GpuOp> = z.infer<(typeof GPU_RESULTS)[O]>

export const GpuResponse = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: z.string() })
])
export type GpuResponse = z.infer<typeof GpuResponse>
