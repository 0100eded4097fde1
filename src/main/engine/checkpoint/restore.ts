// A model from a loaded checkpoint, with the growth masks it was saved with (a checkpoint taken during
// a growth ramp computes a different function without them).
import { applyGrowthState, parseGrowthState } from '../growth/state'
import { TransformerModel } from '../model'
import type { LoadedCheckpoint } from './checkpoint'

export function restoreModel(checkpoint: Pick<LoadedCheckpoint, 'config' | 'weights' | 'state'>): TransformerModel {
  const model = new TransformerModel(checkpoint.config)
  try {
    model.setWeights(checkpoint.weights)
    if (checkpoint.state.growth != null) applyGrowthState(model, parseGrowthState(checkpoint.state.growth, checkpoint.config))
    return model
  } catch (error) {
    model.dispose()
    throw error
  }
}
