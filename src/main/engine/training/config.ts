// The run configuration: what `elle run CONFIG.json` reads and what the API accepts. The schema and the
// rules between fields live in src/shared/run-config.ts (the renderer validates with the same); here the
// engine's side: ConfigError, and what follows from a valid config (method, growth path). Known domains and
// the memory estimate are checked by the engine (engine.ts, resources/) after this.
// Every error names the field (e.g. `stages.1.steps: must be at least 1`).
import { describeZodError } from '../../../shared/contract'
import { hasGrowth, replays, RunConfig, type ModelShape, type MethodSettings } from '../../../shared/run-config'

export {
  AgemSettings,
  EwcSettings,
  GrowthIncrement,
  GrowthSettings,
  LogitKdSettings,
  MasSettings,
  MemorySettings,
  METHOD_NAMES,
  MethodSettings,
  ModelShape,
  ReplaySettings,
  RewarmSettings,
  RunConfig,
  StageConfig,
  TrainingSettings,
  type MethodName,
  type MethodOf,
  type MethodSettingsInput,
  type RunConfigInput
} from '../../../shared/run-config'

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Parse and check a config; impossible shapes are refused here, before any data is touched. */
export function parseRunConfig(raw: unknown, source = 'config'): RunConfig {
  const parsed = RunConfig.safeParse(raw)
  if (!parsed.success) throw new ConfigError(describeZodError(source, parsed.error))
  return parsed.data
}

/** The method a config runs: `method` when given, else what its settings describe (as the comparison infers it). */
export function methodOf(config: RunConfig): MethodSettings {
  if (config.method) return config.method
  if (config.stages.some((s) => hasGrowth(s.grow))) return { name: 'elle' }
  return replays(config) ? { name: 'er' } : { name: 'naive' }
}

/**
 * The shape after each stage's growth, stage by stage: what ELLE trains each stage at. Arithmetic only,
 * so absurd growth requests (100 million layers) are measured, not built.
 */
export function growthPath(config: RunConfig): ModelShape[] {
  const m = config.model
  let { layers, heads } = m
  let ffn = m.ffn ?? 4 * m.heads * m.headSize
  return config.stages.map((s) => {
    if (hasGrowth(s.grow)) {
      const grow = s.grow!
      // the growth operator's rule: added units, else the FFN keeps its ratio to the hidden size
      ffn = grow.ffn !== undefined ? ffn + grow.ffn : Math.round((ffn * (heads + grow.heads)) / heads)
      layers += grow.layers
      heads += grow.heads
    }
    return { ...m, layers, heads, ffn }
  })
}

/**
 * The shape the run's schedule reaches: the initial shape plus every stage's growth. ELLE grows to it;
 * joint and scratch train a model of this size from the start.
 */
export function finalModelShape(config: RunConfig): ModelShape {
  return growthPath(config).at(-1)!
}

/** Named shapes for quick runs: `elle run --model gpt --size tiny`. */
export const SIZES = {
  tiny: { layers: 2, heads: 2, headSize: 32 },
  small: { layers: 4, heads: 4, headSize: 64 }
} as const
export type SizeName = keyof typeof SIZES

export function quickRunConfig(options: { kind: 'bert' | 'gpt'; size: SizeName; domain: string; steps: number; seed?: number }): RunConfig {
  const steps = options.steps
  return parseRunConfig({
    name: `${options.kind}-${options.size}-${options.domain}`,
    model: { kind: options.kind, ...SIZES[options.size] },
    training: {
      seed: options.seed ?? 0,
      validateEvery: Math.max(1, Math.min(50, Math.round(steps / 10))),
      // a quick run validates often; 64 blocks spread over the split keep that cheap (ranking runs use the whole split)
      validationSequences: 64,
      checkpointEvery: Math.max(1, Math.min(500, Math.round(steps / 2)))
    },
    stages: [{ domain: options.domain, steps }]
  })
}
