// The pure rules behind the run page's checkpoint actions: forms to job params, which jobs a run shows,
// the latest evaluation per domain.
import { describe, expect, it } from 'vitest'
import {
  actionRequest,
  detachedCheckpoints,
  emptyActionForm,
  forgettingHeatmap,
  formatEta,
  jobsOfRun,
  latestEvaluations,
  type ActionForm
} from '../../src/shared/checkpoint-actions'
import type { JobSummary } from '../../src/shared/contract'

const form = (over: Partial<ActionForm> = {}): ActionForm => ({ ...emptyActionForm(), ...over })
const target = { checkpointId: 7, runId: 3 }

function job(id: number, over: Partial<JobSummary>): JobSummary {
  return { id, kind: 'evaluate', params: {}, status: 'finished', progress: null, result: null, error: null, owner: null, createdAt: '', startedAt: null, endedAt: null, ...over }
}

describe('checkpoint action forms', () => {
  it('turn into the contract params of their job', () => {
    expect(actionRequest('evaluate', form({ domain: 'press', maxSequences: '8' }), target)).toEqual({
      ok: true,
      start: { method: 'checkpoints.evaluate', params: { checkpointId: 7, domain: 'press', maxSequences: 8 } }
    })
    expect(actionRequest('evaluate', form({ evalOn: 'text', textPath: ' /data/a.txt ' }), target)).toMatchObject({ start: { params: { textPath: '/data/a.txt' } } })
    expect(actionRequest('finetune', form({ task: 'press-genre', seeds: '2', steps: '' }), target)).toEqual({
      ok: true,
      start: { method: 'checkpoints.finetune', params: { checkpointId: 7, task: 'press-genre', seeds: 2 } }
    })
    expect(actionRequest('forgetting', form({ seeds: '1', steps: '20' }), target)).toMatchObject({
      start: { method: 'runs.forgetting', params: { runId: 3, seeds: 1, steps: 20 } }
    })
    expect(actionRequest('grow', form({ addLayers: '1', addHeads: '2', mode: 'elle' }), target)).toEqual({
      ok: true,
      start: { method: 'checkpoints.grow', params: { checkpointId: 7, addLayers: 1, addHeads: 2, mode: 'elle' } }
    })
    expect(actionRequest('export', form({ exportDir: '/out/hf' }), target)).toMatchObject({ start: { params: { checkpointId: 7, format: 'hf', outDir: '/out/hf' } } })
    expect(actionRequest('import', form({ importPath: '/out/hf' }), { checkpointId: null, runId: 3 })).toMatchObject({
      start: { method: 'checkpoints.import', params: { path: '/out/hf' } }
    })
  })

  it('name the field that is wrong', () => {
    expect(actionRequest('export', form(), target)).toEqual({ ok: false, field: 'exportDir', message: 'Folder is required' })
    expect(actionRequest('finetune', form({ task: 't', seeds: '0' }), target)).toMatchObject({ ok: false, field: 'seeds', message: expect.stringContaining('from 1 to 100') })
    expect(actionRequest('finetune', form({ task: 't', seeds: '2.5' }), target)).toMatchObject({ ok: false, field: 'seeds' })
    expect(actionRequest('finetune', form({ seeds: '2' }), target)).toMatchObject({ ok: false, field: 'task' })
    expect(actionRequest('grow', form({ addLayers: '0', addHeads: '0' }), target)).toMatchObject({
      ok: false,
      field: 'addLayers',
      message: expect.stringContaining('at least one')
    })
    expect(actionRequest('evaluate', form({ evalOn: 'text' }), target)).toMatchObject({ ok: false, field: 'textPath' })
  })
})

describe('jobs on a run page', () => {
  it('lists the jobs on its checkpoints, its forgetting matrix and imports, and the latest evaluation per domain', () => {
    const jobs = [
      job(1, { params: { checkpointId: 7, domain: 'press' }, result: { checkpoint: '/c', on: 'press', loss: 4, ppl: 54.6, tokens: 10, sequences: 1 } }),
      job(2, { params: { checkpointId: 7, domain: 'press' }, result: { checkpoint: '/c', on: 'press', loss: 3, ppl: 20.1, tokens: 10, sequences: 1, ci: { lo: 19, hi: 21 } } }),
      job(3, { params: { checkpointId: 7, domain: 'fiction' }, status: 'failed', error: 'x' }),
      job(4, { params: { checkpointId: 8, domain: 'press' } }),
      job(5, { kind: 'forgetting', params: { runId: 3 } }),
      job(6, { kind: 'forgetting', params: { runId: 4 } }),
      job(7, { kind: 'import', params: { path: '/hf' } }),
      job(8, { kind: 'domain.add', params: {} })
    ]
    expect(jobsOfRun(jobs, 3, [{ id: 7 }]).map((j) => j.id)).toEqual([1, 2, 3, 5, 7])
    expect(latestEvaluations(jobs, 7)).toEqual([{ jobId: 2, on: 'press', ppl: 20.1, ci: { lo: 19, hi: 21 }, endedAt: null }])
    expect(formatEta(null)).toBe('ETA –')
    expect(formatEta(125)).toBe('ETA 2 min 5 s')
  })
})

describe('forgetting heat map', () => {
  it('is each learned task’s change since its own stage, nothing above the diagonal', () => {
    const input = forgettingHeatmap(
      [
        [0.6, 0.4],
        [0.5, 0.7]
      ],
      [
        { domain: 'press', task: 'press-genre' },
        { domain: 'fiction', task: null }
      ],
      'accuracy'
    )
    expect(input.values[0]).toEqual([0, null])
    expect(input.values[1]![0]).toBeCloseTo(-0.1)
    expect(input.values[1]![1]).toBe(0)
    expect(input.cols).toEqual(['press-genre', 'fiction'])
    expect(input.scale).toBe('diverging')
  })
})

describe('detached checkpoints (grown, imported: no run)', () => {
  const shape = (layers: number) => ({ kind: 'gpt', layers, heads: 2, hidden: 64, ffn: 256, vocabSize: 100, maxLength: 32 })
  const grow = (id: number, to: string, status: JobSummary['status'] = 'finished') =>
    job(id, {
      kind: 'grow',
      status,
      result: {
        from: '/d/runs/s/1/checkpoints/step-1',
        to,
        mode: 'exact',
        before: shape(1),
        after: shape(2),
        hiddenScheme: 'x',
        depthInit: 'y',
        layerSources: [0, 0],
        ramp: null,
        optimizer: 'dropped',
        sha256: 'a'
      }
    })
  const imported = (id: number, path: string) => job(id, { kind: 'import', result: { path, bytes: 1, sha256: 'b', files: [], architecture: 'GPT2LMHeadModel', config: shape(3) } })

  it('are the folders finished grow and import jobs wrote, newest first, one per folder', () => {
    const list = detachedCheckpoints([
      grow(1, '/d/grown/a'),
      imported(2, '/d/imported/b'),
      grow(3, '/d/grown/c', 'failed'),
      grow(4, '/d/grown/a'),
      job(5, { kind: 'evaluate' }),
      job(6, { kind: 'grow', result: { bad: true } })
    ])
    expect(list.map((d) => [d.jobId, d.kind, d.path])).toEqual([
      [4, 'grow', '/d/grown/a'],
      [2, 'import', '/d/imported/b']
    ])
    expect(list[0]).toMatchObject({ from: '/d/runs/s/1/checkpoints/step-1', shape: { layers: 2 } })
    expect(list[1]).toMatchObject({ from: null, shape: { layers: 3 } })
  })

  it('their actions take the checkpoint by folder', () => {
    const byPath = { checkpointId: null, checkpointPath: '/d/grown/a', runId: 3 }
    expect(actionRequest('evaluate', form({ domain: 'press' }), byPath)).toEqual({
      ok: true,
      start: { method: 'checkpoints.evaluate', params: { checkpointPath: '/d/grown/a', domain: 'press' } }
    })
    expect(actionRequest('finetune', form({ task: 'press-genre', seeds: '1' }), byPath)).toMatchObject({ start: { params: { checkpointPath: '/d/grown/a', task: 'press-genre' } } })
    expect(actionRequest('export', form({ exportDir: '/tmp/x' }), byPath)).toMatchObject({ start: { params: { checkpointPath: '/d/grown/a' } } })
    expect(actionRequest('evaluate', form({ domain: 'press' }), { checkpointId: null, checkpointPath: null, runId: 3 })).toEqual({
      ok: false,
      field: 'domain',
      message: 'choose a checkpoint first'
    })
  })
})
