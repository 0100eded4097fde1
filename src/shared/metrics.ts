// Names of the metric series a run records, and the phase every point belongs to. The engine writes them
// and the renderer reads them; both use these constants, so a renamed series cannot split them.

/** Series recorded at every optimizer update. */
export const SERIES = {
  loss: 'loss',
  lr: 'lr',
  gradNorm: 'grad_norm',
  tokensPerS: 'tokens_per_s',
  /** the method's penalty term (EWC, MAS); only when non-zero */
  penalty: 'penalty',
  /** parameter count, once at the start of each phase */
  params: 'params',
  /** average perplexity over the domains seen so far (per validation) */
  ap: 'ap',
  /** geometric average perplexity */
  apGeo: 'ap_geo',
  /** forgetting-aware AP: each domain against its own end-of-stage perplexity */
  apPlus: 'ap_plus',
  /** 95% bootstrap interval (over validation documents) of AP, geometric AP and AP+, per validation */
  apLo: 'ap_lo',
  apHi: 'ap_hi',
  apGeoLo: 'ap_geo_lo',
  apGeoHi: 'ap_geo_hi',
  apPlusLo: 'ap_plus_lo',
  apPlusHi: 'ap_plus_hi',
  /** seconds the validation took (every seen domain, the intervals included): its share of a run's time */
  evalS: 'eval_s'
} as const

/** Lower and upper end of the 95% bootstrap interval of one domain's perplexity. */
export const pplLoSeries = (domain: string): string => `ppl_lo/${domain}`
export const pplHiSeries = (domain: string): string => `ppl_hi/${domain}`
/** Scored target tokens and validation documents of one domain's validation. */
export const valTokensSeries = (domain: string): string => `val_tokens/${domain}`
export const valDocsSeries = (domain: string): string => `val_docs/${domain}`

const PPL_PREFIX = 'ppl/'
const VAL_LOSS_PREFIX = 'val_loss/'

/** Validation perplexity of one domain. */
export const pplSeries = (domain: string): string => `${PPL_PREFIX}${domain}`
/** Validation loss of one domain. */
export const valLossSeries = (domain: string): string => `${VAL_LOSS_PREFIX}${domain}`
/** The domain of a `ppl/<domain>` series, or null for any other series. */
export const pplDomain = (name: string): string | null => (name.startsWith(PPL_PREFIX) ? name.slice(PPL_PREFIX.length) : null)
export const isPplSeries = (name: string): boolean => name.startsWith(PPL_PREFIX)

/** The kinds of phase the loop runs: a training phase on a stage's domain, or the warm-up before it. */
export const PHASE_KINDS = { train: 'train', frw: 'frw' } as const

/**
 * The phase a metric point belongs to: its kind, the configured stage, and the phase's domain. Points
 * recorded before schema 5 with an unreadable label keep that label as `kind`, with no stage or domain.
 */
export interface PhaseRef {
  kind: string
  stage: number | null
  domain: string | null
}

export const samePhase = (a: PhaseRef, b: PhaseRef): boolean => a.kind === b.kind && a.stage === b.stage && a.domain === b.domain

/** One text per phase (a map key), never parsed back. */
export const phaseKey = (p: PhaseRef): string => JSON.stringify([p.kind, p.stage, p.domain])

/** A short label for people: `train 1 · fiction`. */
export const phaseLabel = (p: PhaseRef): string => (p.stage === null ? p.kind : `${p.kind} ${p.stage}${p.domain === null ? '' : ` · ${p.domain}`}`)

/** The label of a perplexity-matrix row: `after <domain> (<step>)` for a stage end, else `step <step>`. */
export function matrixRowLabel(row: PhaseRef & { step: number }, stream: readonly string[], stageEnds: boolean): string {
  return stageEnds && row.stage !== null ? `after ${stream[row.stage] ?? row.domain ?? row.kind} (${row.step})` : `step ${row.step}`
}
