// Growth state carried across growth calls and checkpoints: depth bookkeeping, the pending mask ramp
// and a history of growth events. Plain JSON so it fits a checkpoint's state.json under `growth`.
import type { JsonObject } from '../checkpoint/json'
import type { ModelConfig } from '../model/config'
import type { GrowthMasks, TransformerModel } from '../model/model'
import { checkDepthBookkeeping, type DepthBookkeeping, initialDepthBookkeeping } from './depth'

export type GrowthMode = 'exact' | 'elle'

/** Masks left by an `exact` growth that the training loop ramps from 0 to 1. */
export interface GrowthRamp {
  /** Hidden units at or above this index are new and masked; null when the hidden size did not change that way. */
  hiddenFrom: number | null
  /** Indices of gated (inserted post-LN) layers: each computes m * layer(x) + (1 - m) * x. */
  gatedLayers: number[]
  /** Current m, in [0, 1]. */
  progress: number
  /** Training steps over which m goes from 0 to 1 (advanceRamp). */
  steps: number
}

export interface GrowthShape {
  layers: number
  heads: number
  hidden: number
  ffn: number
}

export interface GrowthEvent {
  mode: GrowthMode
  seed: number
  from: GrowthShape
  to: GrowthShape
  /** How the hidden size grew: `fpi` = duplicate and split, `masked` = MSG masks. */
  hiddenScheme: 'fpi' | 'masked'
  /** How inserted layers start: `copy` (elle), `identity` (pre-LN exact), `gated` (post-LN exact). */
  depthInit: 'copy' | 'identity' | 'gated'
}

export interface GrowthState extends DepthBookkeeping {
  version: 1
  ramp: GrowthRamp | null
  history: GrowthEvent[]
}

export const GROWTH_STATE_VERSION = 1

export function initialGrowthState(config: Pick<ModelConfig, 'layers'>): GrowthState {
  return { version: GROWTH_STATE_VERSION, ...initialDepthBookkeeping(config.layers), ramp: null, history: [] }
}

/** The masks for the state's ramp progress, or null when nothing is ramping (plain forward pass). */
export function growthMasks(state: GrowthState, config: Pick<ModelConfig, 'hidden' | 'layers'>): GrowthMasks | null {
  const r = state.ramp
  if (!r) return null
  let hidden: Float32Array | null = null
  if (r.hiddenFrom !== null) {
    hidden = new Float32Array(config.hidden).fill(1)
    hidden.fill(r.progress, r.hiddenFrom)
  }
  const layerGates: (number | null)[] = new Array<number | null>(config.layers).fill(null)
  for (const l of r.gatedLayers) layerGates[l] = r.progress
  return { hidden, layerGates }
}

/** Sets the ramp to `progress` (clamped to [0, 1]); at 1 the ramp ends and the masks go away. */
export function rampMasks(state: GrowthState, progress: number): GrowthState {
  if (!state.ramp) return state
  if (!Number.isFinite(progress)) throw new Error(`rampMasks: progress must be a number, got ${progress}`)
  const p = Math.min(1, Math.max(0, progress))
  return { ...state, ramp: p >= 1 ? null : { ...state.ramp, progress: p } }
}

/** Moves the ramp forward by `steps` training steps (of ramp.steps in total). */
export function advanceRamp(state: GrowthState, steps = 1): GrowthState {
  if (!state.ramp) return state
  // Count whole steps so that n steps of 1/n reach exactly 1 (adding 0.1 ten times does not).
  const done = Math.round(state.ramp.progress * state.ramp.steps) + steps
  return rampMasks(state, done / state.ramp.steps)
}

/** Puts the state's masks on the model (clears them when nothing ramps); for loads and every ramp step. */
export function applyGrowthState(model: TransformerModel, state: GrowthState): void {
  checkGrowthState(state, model.config)
  model.setGrowthMasks(growthMasks(state, model.config))
}

export function growthStateToJson(state: GrowthState): JsonObject {
  return JSON.parse(JSON.stringify(state)) as JsonObject
}

/** Validates a parsed `growth` entry of a checkpoint's state (against the model config when given). */
export function parseGrowthState(json: unknown, config?: ModelConfig): GrowthState {
  const fail = (msg: string): never => {
    throw new Error(`growth state: ${msg}`)
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('must be an object')
  const o = json as Record<string, unknown>
  if (o.version !== GROWTH_STATE_VERSION) fail(`unsupported version ${String(o.version)} (expected ${GROWTH_STATE_VERSION})`)
  const state: GrowthState = {
    version: GROWTH_STATE_VERSION,
    layerIds: o.layerIds as number[],
    candidates: o.candidates as number[],
    ramp: (o.ramp ?? null) as GrowthRamp | null,
    history: (o.history ?? []) as GrowthEvent[]
  }
  if (!Array.isArray(state.history)) fail('history must be an array')
  const r = state.ramp
  if (r !== null) {
    if (typeof r !== 'object') fail('ramp must be an object or null')
    if (!(r.hiddenFrom === null || (Number.isInteger(r.hiddenFrom) && r.hiddenFrom > 0))) fail('ramp.hiddenFrom must be a positive integer or null')
    if (!Array.isArray(r.gatedLayers) || !r.gatedLayers.every((l) => Number.isInteger(l) && l >= 0)) fail('ramp.gatedLayers must list layer indices')
    if (!(typeof r.progress === 'number' && r.progress >= 0 && r.progress < 1)) fail('ramp.progress must be in [0, 1)')
    if (!(Number.isInteger(r.steps) && r.steps > 0)) fail('ramp.steps must be a positive integer')
  }
  if (config) checkGrowthState(state, config)
  else checkDepthBookkeeping(state, state.layerIds?.length ?? 0)
  return state
}

/** Throws unless the state fits the model config. */
export function checkGrowthState(state: GrowthState, config: Pick<ModelConfig, 'hidden' | 'layers'>): void {
  try {
    checkDepthBookkeeping(state, config.layers)
  } catch (e) {
    throw new Error(`growth state: ${(e as Error).message}`)
  }
  const r = state.ramp
  if (!r) return
  if (r.hiddenFrom !== null && r.hiddenFrom >= config.hidden) {
    throw new Error(`growth state: ramp.hiddenFrom ${r.hiddenFrom} is not below the hidden size ${config.hidden}`)
  }
  const bad = r.gatedLayers.find((l) => l >= config.layers)
  if (bad !== undefined) throw new Error(`growth state: gated layer ${bad} does not exist in a ${config.layers}-layer model`)
}
