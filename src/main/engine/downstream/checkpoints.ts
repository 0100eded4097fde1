// What fine-tuning needs to know about a checkpoint: which domains it has seen, which prompt the
// "wrong prompt" ablation gives a domain, where it sits in the store, and which of a run's
// checkpoints close its stages.
import path from 'node:path'
import type { JsonObject } from '../checkpoint/json'
import { DEFAULT_DOMAINS, type StreamManifest } from '../data'
import type { CheckpointRecord, ExperimentStore } from '../store/store'
import { parseRunConfig, type RunConfig } from '../training/config'
import { planPhases } from '../methods/registry'
import type { StagePlan } from '../training/plugin-api'

interface StageLike {
  domain: string
  steps: number
  frwSteps: number
}

/** The stages an experiment JSON lists, or null when it lists none (an imported or hand-made checkpoint). */
export function experimentStages(experiment: JsonObject): StageLike[] | null {
  const stages = experiment.stages
  if (!Array.isArray(stages) || stages.length === 0) return null
  const out: StageLike[] = []
  for (const s of stages) {
    if (s === null || typeof s !== 'object' || Array.isArray(s) || typeof s.domain !== 'string' || typeof s.steps !== 'number') return null
    out.push({ domain: s.domain, steps: s.steps, frwSteps: typeof s.frwSteps === 'number' ? s.frwSteps : 0 })
  }
  return out
}

/** The loop's phases for an experiment JSON: planPhases when it is a run config, else read from its stages. */
function phasesOf(experiment: JsonObject): Array<{ kind: string; domains: string[] }> | null {
  try {
    return planPhases(parseRunConfig(experiment)).map((p) => ({ kind: p.kind, domains: phaseDomains(p) }))
  } catch {
    // Not a run config as this version reads it (e.g. an imported checkpoint's extra keys): the stages suffice.
  }
  const stages = experimentStages(experiment)
  if (!stages) return null
  return stages.flatMap((s, i) => [...(s.frwSteps > 0 && i > 0 ? [{ kind: 'frw', domains: [stages[i - 1]!.domain] }] : []), { kind: 'train', domains: [s.domain] }])
}

/**
 * The domains a checkpoint has trained on, in stream order: those of every training phase before the
 * loop's current one, and of the current one if it has made an update. Null when the checkpoint records
 * no stream or no loop position, so it cannot be checked.
 */
export function seenDomains(checkpoint: { experiment: JsonObject; state: JsonObject }): string[] | null {
  const loop = checkpoint.state.loop
  if (loop === null || typeof loop !== 'object' || Array.isArray(loop)) return null
  const phaseIndex = loop.stageIndex
  const stepInPhase = loop.stepInStage
  if (typeof phaseIndex !== 'number' || typeof stepInPhase !== 'number') return null
  const phases = phasesOf(checkpoint.experiment)
  if (!phases) return null
  const seen: string[] = []
  phases.forEach((p, i) => {
    if (p.kind !== 'train' || !(i < phaseIndex || (i === phaseIndex && stepInPhase > 0))) return
    for (const d of p.domains) if (!seen.includes(d)) seen.push(d)
  })
  return seen
}

/**
 * The prompt slot the "wrong prompt" ablation uses for `domain`: the next domain's in the stream order,
 * as pre-training's `prompts: "wrong"` does (training/loop.ts promptFor). The order is the checkpoint's
 * stream, or the default stream's when it records none.
 */
export function wrongPromptSlot(domain: string, ownSlot: number, order: readonly string[] | null, slotOf: (name: string) => number | null, promptSlots: number): number {
  const stream = order && order.length > 0 ? [...new Set(order)] : [...DEFAULT_DOMAINS]
  const at = stream.indexOf(domain)
  if (stream.length > 1 && at >= 0) {
    const slot = slotOf(stream[(at + 1) % stream.length]!)
    if (slot !== null && slot !== ownSlot) return slot
  }
  return (ownSlot + 1) % promptSlots
}

/** A domain's prompt slot: the default stream's, else the store's (domains added by the user). */
export function slotLookup(manifest: StreamManifest, store: ExperimentStore | null): (name: string) => number | null {
  return (name) => manifest.domains.find((d) => d.name === name)?.promptSlot ?? store?.findDomain(name)?.promptSlot ?? null
}

/** The store's row for a checkpoint directory: first in the run its config names, else in any run. */
export function findStoredCheckpoint(store: ExperimentStore, dir: string, runHint: unknown): CheckpointRecord | null {
  const want = path.resolve(dir)
  const match = (runId: number): CheckpointRecord | null =>
    store
      .listCheckpoints(runId)
      .filter((c) => path.resolve(c.path) === want)
      .at(-1) ?? null
  if (typeof runHint === 'number') {
    try {
      const hit = match(runHint)
      if (hit) return hit
    } catch {
      // the run named in the checkpoint is not in this store
    }
  }
  for (const run of store.listRuns()) {
    const hit = match(run.id)
    if (hit) return hit
  }
  return null
}

export interface StageEnd {
  /** Index of the configured stage (the domain's position in the stream). */
  stage: number
  domain: string
  /** Every domain trained on up to the end of this stage (the mixture's, for joint and from-scratch runs). */
  seen: string[]
  /** Global step at which the stage's training phase ends. */
  endStep: number
  checkpoint: CheckpointRecord | null
}

/** The domains a phase trains on: all of a mixture's (joint, scratch), else its own. */
const phaseDomains = (phase: StagePlan): string[] => ('domains' in phase && Array.isArray(phase.domains) ? phase.domains : [phase.domain])

/**
 * The checkpoint that closes each training phase of a run: written for that phase (not a warm-up),
 * whose stage row is finished, at the phase's last step. Phases not finished yet have none. A
 * from-scratch run has a single phase over the whole stream, so a single entry.
 */
export function stageEndCheckpoints(store: ExperimentStore, runId: number, config: RunConfig): StageEnd[] {
  const phases = planPhases(config)
  const rows = new Map(store.listStages(runId).map((r) => [r.index, r]))
  const checkpoints = store.listCheckpoints(runId)
  const ends: StageEnd[] = []
  const seen: string[] = []
  let step = 0
  for (const phase of phases) {
    step += phase.steps
    for (const d of phaseDomains(phase)) if (!seen.includes(d)) seen.push(d)
    if (phase.kind !== 'train') continue
    const row = rows.get(phase.index)
    const checkpoint = row && row.status === 'finished' ? (checkpoints.filter((c) => c.stageId === row.id && c.step === step).at(-1) ?? null) : null
    ends.push({ stage: phase.stage, domain: phase.domain, seen: [...seen], endStep: step, checkpoint })
  }
  return ends
}
