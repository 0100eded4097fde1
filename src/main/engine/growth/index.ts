// Model growth (ELLE width/depth expansion, exact and faithful modes): see docs/elle.md.
export { growModel, growOptimizerState, DEFAULT_ELLE_NOISE, DEFAULT_RAMP_STEPS, type GrowthSpec, type GrowthMaps, type GrowResult } from './grow'
export {
  initialGrowthState,
  growthMasks,
  rampMasks,
  advanceRamp,
  applyGrowthState,
  growthStateToJson,
  parseGrowthState,
  checkGrowthState,
  GROWTH_STATE_VERSION,
  type GrowthState,
  type GrowthRamp,
  type GrowthEvent,
  type GrowthShape,
  type GrowthMode
} from './state'
export { planDepth, initialDepthBookkeeping, type DepthBookkeeping, type DepthPlan } from './depth'
export { maskedLayerNorm } from './masked-ops'
export { logitAgreement, type LogitAgreement } from './agreement'
