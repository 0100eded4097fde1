// The benchmark's reference shape (GPT: 4 layers, hidden 256, 4 heads, FFN 1024, sequence 128, batch 32,
// vocabulary 8000) as parseArgs options, shared by bench:train and bench:gpu so both measure the same model.
export const SHAPE_OPTIONS = {
  steps: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '3' },
  layers: { type: 'string', default: '4' },
  hidden: { type: 'string', default: '256' },
  heads: { type: 'string', default: '4' },
  ffn: { type: 'string', default: '1024' },
  seq: { type: 'string', default: '128' },
  batch: { type: 'string', default: '32' },
  vocab: { type: 'string', default: '8000' }
} as const

/** A flag that must be a positive integer; the error names it. */
export function positiveInt(values: Record<string, unknown>, name: string): number {
  const v = Number(values[name])
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${String(values[name])}`)
  return v
}
