// Axis labels of the curves: what a series measures and what an x axis counts.
import type { XAxisKind } from '../charts/types'
import { pplDomain, SERIES } from '../metrics'

const Y_LABELS: Record<string, string> = {
  [SERIES.loss]: 'training loss',
  [SERIES.lr]: 'learning rate',
  [SERIES.gradNorm]: 'gradient norm',
  [SERIES.tokensPerS]: 'tokens/s',
  [SERIES.penalty]: 'penalty',
  [SERIES.params]: 'parameters',
  [SERIES.ap]: 'AP (perplexity)',
  [SERIES.apGeo]: 'geometric AP (perplexity)',
  [SERIES.apPlus]: 'AP+ (perplexity change)',
  [SERIES.evalS]: 'validation seconds'
}

export function yLabelOf(metric: string): string {
  const domain = pplDomain(metric)
  if (domain !== null) return `perplexity of ${domain}`
  if (metric.startsWith('val_loss/')) return `validation loss of ${metric.slice('val_loss/'.length)}`
  return Y_LABELS[metric] ?? metric
}

export const X_LABELS: Record<XAxisKind, string> = { step: 'step', tokens: 'tokens seen', wall: 'training wall time (s)', flops: 'FLOPs' }
