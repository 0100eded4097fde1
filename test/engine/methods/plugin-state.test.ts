// A method's saved state is parsed with its schema when a run resumes: a checkpoint whose plugin entry is
// malformed, or whose plugin tensor is missing, is refused naming the plugin and field, and nothing changes
// (the checkpoint's files, the store's rows).
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { checkpointSha256, loadCheckpoint, saveCheckpoint } from '../../../src/main/engine/checkpoint/checkpoint'
import { RunController } from '../../../src/main/engine/training/run'
import { storeSnapshot, tinyRun, type TinyRun } from '../downstream/helpers'

let run: TinyRun
beforeAll(async () => {
  run = await tinyRun(inject('dataDir'), { method: { name: 'ewc', lambda: 100, samples: 2 } })
}, 120_000)
afterAll(() => run.store.close())

const resume = () => new RunController().execute({ runId: run.runId, dbPath: run.dbPath, dataDir: run.dataDir, backend: { flag: 'wasm' } }, { progress: () => {}, log: () => {} })

/** Rewrites the newest checkpoint's state (and plugin tensors) through the checkpoint writer, as a damaged but well-formed checkpoint. */
async function damage(edit: (state: { plugins: Record<string, Record<string, unknown>> }, tensors: Record<string, unknown>) => void): Promise<string> {
  const dir = run.store.listCheckpoints(run.runId).at(-1)!.path
  const c = await loadCheckpoint(dir)
  const state = structuredClone(c.state) as unknown as { plugins: Record<string, Record<string, unknown>> }
  const tensors = { ...c.pluginTensors }
  edit(state, tensors)
  await saveCheckpoint(dir, {
    config: c.config,
    weights: c.weights,
    optimizerState: c.optimizerState ?? undefined,
    tokenizer: c.tokenizer,
    state: state as never,
    pluginTensors: tensors as never,
    training: c.training,
    experiment: c.experiment
  })
  return dir
}

describe('plugin state on resume', () => {
  it('a malformed plugin entry in state.json fails naming the plugin and field; nothing changes', async () => {
    const dir = await damage((state) => {
      state.plugins.ewc!.importance = { tensors: 7 }
    })
    const sha = await checkpointSha256(dir)
    const folders = fs.readdirSync(path.dirname(dir))
    const before = storeSnapshot(run.store, run.runId)
    const metrics = run.store.readMetrics(run.runId, { name: 'loss' }).length
    const outcome = await resume()
    expect(outcome.status).toBe('failed')
    expect(outcome.status === 'failed' && outcome.error).toMatch(/plugins\.ewc: importance: must be a tensor reference/)
    expect(outcome.status === 'failed' && outcome.error).toContain('"ewc"')
    expect(await checkpointSha256(dir)).toBe(sha)
    expect(fs.readdirSync(path.dirname(dir))).toEqual(folders)
    expect(storeSnapshot(run.store, run.runId)).toEqual(before)
    expect(run.store.readMetrics(run.runId, { name: 'loss' }).length).toBe(metrics)
  })

  it('a plugin tensor missing from plugins.safetensors fails naming it', async () => {
    await damage((state, tensors) => {
      // repair the entry of the test before, then lose one anchor tensor
      state.plugins.ewc!.importance = {
        tensors: 'importance',
        names: Object.keys(tensors)
          .filter((n) => n.startsWith('ewc/importance/'))
          .map((n) => n.slice('ewc/importance/'.length))
      }
      delete tensors['ewc/anchor/embed.token']
    })
    const outcome = await resume()
    expect(outcome.status === 'failed' && outcome.error).toMatch(
      /plugins\.ewc: tensor "ewc\/anchor\/embed\.token" of group "anchor" is not in the checkpoint's plugins\.safetensors/
    )
  })
})
