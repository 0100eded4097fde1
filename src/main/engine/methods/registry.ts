// The lifelong methods by name (docs/baselines.md): for each, the plugins it puts on the loop and how it
// turns the configured stages into the loop's phases. Adding a method is one entry here (and its options
// in the config schema, which refuses an unknown name naming the field).
import { methodOf, type MethodName, type MethodOf, type RunConfig } from '../training/config'
import type { StagePlan, TrainingPlugin } from '../training/plugin-api'
import { hashSeed } from '../model/rng'
import { AgemPlugin } from './agem'
import { DistillPlugin } from './distill'
import { EwcPlugin } from './ewc'
import { GrowthPlugin } from './growth'
import { FinalSizePlugin, MixturePlugin } from './joint'
import { MasPlugin } from './mas'
import { PnnPlugin } from './pnn'
import { ReplayPlugin } from './replay'
import { RewarmPlugin } from './rewarm'

export interface MethodEntry<N extends MethodName> {
  /** The method's plugins, in the order the loop calls them (model-shaping first, gradient projection last). */
  plugins(config: RunConfig, settings: MethodOf<N>, seed: (what: string) => number): TrainingPlugin[]
  /** The loop's phases for this method's run. */
  phases(config: RunConfig): StagePlan[]
}

/** Each stage: an optional warm-up on the previous domain's memory (ELLE §5), then training on `domainsOf(stage)`. */
export function stagePhases(config: RunConfig, domainsOf: (stage: number) => string[] = (i) => [config.stages[i]!.domain]): StagePlan[] {
  const phases: StagePlan[] = []
  config.stages.forEach((s, i) => {
    const replay = { ...config.replay, ...s.replay }
    const grow = s.grow && (s.grow.layers > 0 || s.grow.heads > 0 || (s.grow.ffn ?? 0) > 0) ? s.grow : null
    if (s.frwSteps > 0) {
      const previous = config.stages[i - 1]!.domain
      phases.push({ index: phases.length, stage: i, kind: 'frw', domain: previous, domains: [previous], steps: s.frwSteps, grow, replay })
    }
    phases.push({ index: phases.length, stage: i, kind: 'train', domain: s.domain, domains: domainsOf(i), steps: s.steps, grow: s.frwSteps > 0 ? null : grow, replay })
  })
  return phases
}

const replaying = (config: RunConfig): boolean => config.replay.ratio > 0 || config.stages.some((s) => (s.replay?.ratio ?? 0) > 0)
/** Replay of earlier domains' memories, for the methods that may replay (the config refuses a ratio for the others). */
const replay = (config: RunConfig, seed: (what: string) => number): TrainingPlugin[] => (replaying(config) ? [new ReplayPlugin(seed('replay'))] : [])
/** Joint and scratch: a final-size model from the first update, each micro-batch from a phase domain drawn uniformly. */
const mixture = (seed: (what: string) => number): TrainingPlugin[] => [new FinalSizePlugin(seed('final-size')), new MixturePlugin(seed('mixture'))]

export const METHODS: { [N in MethodName]: MethodEntry<N> } = {
  naive: { plugins: () => [], phases: (c) => stagePhases(c) },
  er: { plugins: (c, _m, seed) => replay(c, seed), phases: (c) => stagePhases(c) },
  ewc: { plugins: (c, m, seed) => [...replay(c, seed), new EwcPlugin(m, seed('ewc'))], phases: (c) => stagePhases(c) },
  mas: { plugins: (c, m, seed) => [...replay(c, seed), new MasPlugin(m, seed('mas'))], phases: (c) => stagePhases(c) },
  // A-GEM last: it projects the gradient the other plugins (penalties) have shaped.
  agem: { plugins: (c, m, seed) => [...replay(c, seed), new AgemPlugin(m, seed('agem'))], phases: (c) => stagePhases(c) },
  'logit-kd': { plugins: (c, m, seed) => [...replay(c, seed), new DistillPlugin(m)], phases: (c) => stagePhases(c) },
  pnn: { plugins: (_c, _m, seed) => [new PnnPlugin(seed('pnn'))], phases: (c) => stagePhases(c) },
  // Joint: every stage trains on all the domains seen so far.
  joint: {
    plugins: (_c, _m, seed) => mixture(seed),
    phases: (c) => stagePhases(c, (i) => [...new Set([c.stages[i]!.domain, ...c.stages.slice(0, i).map((e) => e.domain)])])
  },
  // From scratch: one phase over the whole stream, as long as the schedule, with one learning-rate schedule.
  scratch: {
    plugins: (_c, _m, seed) => mixture(seed),
    phases: (c) => {
      const stream = [...new Set(c.stages.map((s) => s.domain))]
      const steps = c.stages.reduce((n, s) => n + s.steps, 0)
      return [{ index: 0, stage: 0, kind: 'train', domain: stream[0]!, domains: stream, steps, grow: null, replay: { ...c.replay } }]
    }
  },
  rewarm: { plugins: (c, m, seed) => [...replay(c, seed), new RewarmPlugin(m)], phases: (c) => stagePhases(c) },
  elle: {
    // growth first: the other plugins see each phase's final model
    plugins: (c, _m, seed) => [...(c.stages.some((s) => s.grow) ? [new GrowthPlugin(c.growth, seed('growth'))] : []), ...replay(c, seed)],
    phases: (c) => stagePhases(c)
  }
}

function entryOf<N extends MethodName>(settings: MethodOf<N>): MethodEntry<N> {
  return METHODS[settings.name as N]
}

/** The lifelong-learning method a config names (or implies), as plugins on the loop. */
export function methodPlugins(config: RunConfig): TrainingPlugin[] {
  const settings = methodOf(config)
  return entryOf(settings).plugins(config, settings, (what) => hashSeed(config.training.seed, what))
}

/** The loop's phases for a run, as its method plans them. */
export function planPhases(config: RunConfig): StagePlan[] {
  return entryOf(methodOf(config)).phases(config)
}
