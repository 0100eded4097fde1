// How a data-parallel replica thread rebuilds the coordinator's model from its blueprint
// (TransformerModel.replicaBlueprint): the plain model from its config, PNN with its frozen columns. The
// trained variables are then set from the shared weights.
import { PnnModel } from '../methods/pnn-model'
import type { ModelConfig } from '../model/config'
import { TransformerModel, type Weights } from '../model/model'

export function buildReplicaModel(kind: string, config: ModelConfig, constants: Weights): TransformerModel {
  if (kind === 'transformer') return new TransformerModel(config)
  if (kind === 'pnn') return PnnModel.fromBlueprint(config, constants)
  throw new Error(`a replica cannot build a model of kind ${kind}`)
}
