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

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1)

/** Named float32 tensors (weights, constants, gradients): role, shape and values in row-major order. */
export const GpuTensor = z
  .object({ role: z.string(), shape: z.array(z.number().int().min(0)), data: float32s })
  .refine((t) => t.data.length === size(t.shape), { message: 'data must hold as many values as its shape says' })
export type GpuTensor = z.infer<typeof GpuTensor>

/** A model as the coordinator of data-parallel training describes it to a replica (TransformerModel.replicaBlueprint). */
export const GpuBlueprint = z.object({
  /** 'transformer' or 'pnn' */
  kind: z.string(),
  config: GpuModelConfig,
  /** frozen tensors it computes with beyond its trained variables (PNN's earlier columns); [] for none */
  constants: z.array(GpuTensor)
})

/** Growth masks (TransformerModel.setGrowthMasks); null for none. */
export const GpuGrowthMasks = z.object({ hidden: float32s.nullable(), layerGates: z.array(z.number().nullable()) }).nullable()

/** One shard of a micro-batch for the gradients op: [rows, cols] ids and labels (IGNORE_INDEX: no loss), both required. */
export const GpuShard = z
  .object({ shape: z.tuple([positiveInt, positiveInt]), inputIds: int32s, labels: int32s })
  .refine((b) => b.inputIds.length === b.shape[0] * b.shape[1] && b.labels.length === b.inputIds.length, {
    message: 'inputIds and labels must hold rows x cols values'
  })

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
  // The page as a gradient replica of data-parallel training (training/gpu-page-gradients.ts): the coordinator keeps
  // the model and its optimizer, sends the model once (`model`), its trained weights when they changed (`weights`),
  // and gets the gradients of each shard (`gradients`); the page never updates weights itself.
  /** Build the coordinator's model from its blueprint (starts WebGPU first, like init); its weights come with `weights`. */
  z.object({ op: z.literal('model'), id: z.number().int(), blueprint: GpuBlueprint }),
  /** The coordinator's trained weights (every trained role; PNN: its laterals too) and growth masks, numbered. */
  z.object({ op: z.literal('weights'), id: z.number().int(), version: positiveInt, weights: z.array(GpuTensor), masks: GpuGrowthMasks }),
  /** logit-KD's frozen teacher (null: none), held until the next teacher op or model op. */
  z.object({ op: z.literal('teacher'), id: z.number().int(), teacher: z.object({ config: GpuModelConfig, weights: z.array(GpuTensor) }).nullable() }),
  /** The gradients of weight x objective on one shard, on the weights of `version` (which must be the last sent). */
  z.object({
    op: z.literal('gradients'),
    id: z.number().int(),
    version: positiveInt,
    shard: GpuShard,
    weight: finite,
    opts: z.object({ training: z.boolean().optional(), seed: z.number().int().optional(), padId: z.number().int().optional() }).strict(),
    objective: z
      .object({ kind: z.literal('distill'), alpha: finite, temperature: finite })
      .strict()
      .nullable()
  }),
  z.object({ op: z.literal('dispose'), id: z.number().int() })
])
export type GpuRequest = z.infer<typeof GpuRequest>
/** A request as the host writes it (the trainer options may be left out). */
export type GpuRequestInput = z.input<typeof GpuRequest>
/** The request of one op, without its id (what a host's transport numbers). */
export type GpuRequestOf<O extends GpuRequest['op']> = Omit<Extract<GpuRequestInput, { op: O }>, 'id'>

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
export const GpuWeightsLoaded = z.object({ version: positiveInt })
export const GpuTeacherSet = z.object({})
/** weight x the shard's LM loss, the gradients by role (only the roles the objective reached), and the page's live tensors. */
export const GpuGradients = z.object({
  loss: finite,
  grads: z.array(z.object({ role: z.string(), data: float32s })),
  tensors: z.number().int().min(0)
})
export type GpuGradients = z.infer<typeof GpuGradients>
export type GpuInitResult = z.infer<typeof GpuInitResult>
export type GpuStepResult = z.infer<typeof GpuStepResult>
export type GpuWeights = z.infer<typeof GpuWeights>

/** What each request answers. */
export const GPU_RESULTS = {
  init: GpuInitResult,
  adapter: GpuAdapter,
  step: GpuStepResult,
  readWeights: GpuWeights,
  dispose: GpuDisposed,
  model: GpuInitResult,
  weights: GpuWeightsLoaded,
  teacher: GpuTeacherSet,
  gradients: GpuGradients
} as const
export type GpuOp = keyof typeof GPU_RESULTS
export type GpuResultOf<O extends GpuOp> = z.infer<(typeof GPU_RESULTS)[O]>

export const GpuResponse = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: z.string() })
])
export type GpuResponse = z.infer<typeof GpuResponse>
