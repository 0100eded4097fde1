// Function preservation of growth, measured: logits of small trained models before and after growing,
// exact vs elle, width / depth / both, BERT / GPT, integer (2 -> 4 heads) / non-integer (3 -> 4 heads).
//   npx esbuild bench/growth.ts --bundle --platform=node --format=esm --packages=external --outfile=.bench-growth.tmp.mjs
//   node .bench-growth.tmp.mjs [--train-steps 200] [--seeds 3] [--json]
// Prints a markdown table (docs/elle.md). Run from the repo root so node_modules resolves.
import * as tf from '@tensorflow/tfjs'
import { parseArgs } from 'node:util'
import { growModel, logitAgreement } from '../src/main/engine/growth'
import { useBackend } from '../src/main/engine/model/backend'
import { type ModelConfig, type ModelKind, makeModelConfig } from '../src/main/engine/model/config'
import { Rng } from '../src/main/engine/model/rng'
import { logitsOf, toyIds, trainedWeights } from '../test/engine/growth/helpers'

const { values: a } = parseArgs({
  options: { 'train-steps': { type: 'string', default: '200' }, seeds: { type: 'string', default: '3' }, json: { type: 'boolean' } }
})
const trainSteps = Number(a['train-steps'])
const seeds = Number(a.seeds)

/** 16 held-out sequences of the training stream; every other one carries a domain prompt (GPT: position 0, BERT: 1 after CLS). */
function evalBatch(cfg: ModelConfig): tf.Tensor2D {
  const ids = toyIds(cfg, 16, new Rng(99))
  const T = cfg.maxLength
  for (let b = 0; b < 16; b++) {
    if (cfg.kind === 'bert') ids[b * T] = 1
    if (b % 2 === 0) ids[b * T + (cfg.kind === 'bert' ? 1 : 0)] = cfg.vocabSize - 1
  }
  return tf.tensor2d(ids, [16, T], 'int32')
}

await useBackend('wasm')
const growths = [
  { growth: 'width', addLayers: 0 },
  { growth: 'depth', addLayers: 2 },
  { growth: 'both', addLayers: 2 }
] as const
const rows: Array<Record<string, string | number>> = []
for (const kind of ['bert', 'gpt'] as ModelKind[]) {
  for (const [ratio, heads, addHeads] of [
    ['integer', 2, 2],
    ['non-integer', 3, 1]
  ] as const) {
    const cfg = makeModelConfig(kind, { layers: 4, heads, headSize: 16, vocabSize: 64, maxLength: 16 })
    const weights = await trainedWeights(cfg, trainSteps)
    const ids = evalBatch(cfg)
    const before = logitsOf(cfg, weights, ids)
    for (const { growth, addLayers } of growths) {
      for (const [mode, noise] of [
        ['exact', 0],
        ['elle', 0],
        ['elle', undefined]
      ] as const) {
        let maxRel = 0
        let kl = 0
        let top1 = 0
        let scheme = ''
        for (let seed = 1; seed <= seeds; seed++) {
          const g = growModel(cfg, weights, { addLayers, addHeads: growth === 'depth' ? 0 : addHeads, mode, seed, noise })
          const r = logitAgreement(before, logitsOf(g.config, g.weights, ids, g.masks), cfg.vocabSize)
          maxRel = Math.max(maxRel, r.maxRelErr)
          kl += r.kl / seeds
          top1 += r.top1 / seeds
          scheme =
            mode === 'elle'
              ? noise === 0
                ? 'no noise'
                : `noise 0.01${kind === 'bert' ? ' + global' : ''}`
              : `${growth === 'depth' ? '' : `hidden ${g.maps.hiddenScheme}`}${growth === 'both' ? ', ' : ''}${growth === 'width' ? '' : `layers ${g.maps.depthInit}`}`
        }
        const to = `L${4 + addLayers} H${growth === 'depth' ? heads : heads + addHeads}`
        rows.push({ kind, ratio, growth, shape: `L4 H${heads} -> ${to}`, mode, scheme, maxRelErr: maxRel, kl, top1 })
      }
    }
    ids.dispose()
  }
}

if (a.json) console.log(JSON.stringify(rows, null, 2))
else {
  console.log(`trained ${trainSteps} steps, headSize 16, V 64, T 16, 16 sequences (half with a prompt); mean over ${seeds} growth seeds (max for the error)\n`)
  console.log('| kind | width ratio | growth | shape | mode | scheme | max rel. err | KL(before‖after) | top-1 agree |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    const e = (x: number): string => (x < 1e-3 ? x.toExponential(1) : x.toFixed(3))
    console.log(
      `| ${r.kind} | ${r.ratio} | ${r.growth} | ${r.shape} | ${r.mode} | ${r.scheme} | ${e(r.maxRelErr as number)} | ${e(r.kl as number)} | ${(r.top1 as number).toFixed(3)} |`
    )
  }
}
