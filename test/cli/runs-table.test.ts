// `elle runs tag|untag|note|table` and `elle views`, in this process as bin/elle runs main(), on a real store.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ExperimentStore } from '../../src/main/engine/store/store'
import { DEFAULT_VIEW_STATE } from '../../src/shared/view-state'
import { tempDir } from '../helpers/tmp'
import { elleInProcess } from './in-process'

const elle = elleInProcess

describe('elle runs tag / note / table and elle views', () => {
  const dir = tempDir()
  const db = path.join(dir, 'cli-table.sqlite')
  let elleRun = 0
  let ewcRun = 0
  beforeAll(() => {
    const store = ExperimentStore.open(db)
    elleRun = store.createRun(store.ensureExperiment('e', { method: { name: 'elle' }, training: { seed: 1 } }).id).id
    ewcRun = store.createRun(store.ensureExperiment('w', { method: { name: 'ewc' }, training: { seed: 4 } }).id).id
    store.close()
  })
  afterAll(() => vi.restoreAllMocks())

  it('tags, untags and notes a run, and filters the table with a query', async () => {
    expect(await elle('runs', 'tag', String(elleRun), 'paper', 'best', '--db', db)).toMatchObject({ code: 0, out: `run ${elleRun}: tags paper, best; note (none)` })
    expect(await elle('runs', 'untag', String(elleRun), 'best', '--db', db)).toMatchObject({ code: 0, out: `run ${elleRun}: tags paper; note (none)` })
    expect(await elle('runs', 'note', String(ewcRun), 'diverged', 'at', 'step', '3', '--db', db)).toMatchObject({
      code: 0,
      out: `run ${ewcRun}: tags (none); note "diverged at step 3"`
    })
    const tagged = await elle('runs', 'table', '--filter', 'tag = paper or seed > 3', '--json', '--db', db)
    expect(tagged.code, tagged.err).toBe(0)
    expect((JSON.parse(tagged.out) as { rows: Array<{ id: number }> }).rows.map((r) => r.id)).toEqual([ewcRun, elleRun])
    expect((await elle('runs', 'table', '--filter', 'method = elle', '--db', db)).out).toMatch(new RegExp(`^${elleRun}\\s+e\\s+queued\\s+elle\\s+1`, 'm'))

    // bad input: exit 2, the problem named, nothing changed
    expect(await elle('runs', 'table', '--filter', 'seed <', '--db', db)).toMatchObject({ code: 2, err: 'elle runs: --filter: expected a value after "<" at 7' })
    expect(await elle('runs', 'tag', String(elleRun), 'no spaces!', '--db', db)).toMatchObject({ code: 2 })
    expect(await elle('runs', 'tag', '999', 'x', '--db', db)).toMatchObject({ code: 1, err: 'elle runs: no run with id 999' })
    expect((await elle('runs', 'table', '--json', '--db', db)).out).toContain('"paper"')
  })

  it('saves, lists, shows and deletes a view', async () => {
    const file = path.join(dir, 'state.json')
    fs.writeFileSync(file, JSON.stringify({ ...DEFAULT_VIEW_STATE, compare: { ...DEFAULT_VIEW_STATE.compare, runs: [elleRun] } }))
    const saved = await elle('views', 'save', 'mine', file, '--db', db)
    expect(saved).toMatchObject({ code: 0, out: expect.stringMatching(/^saved view \d+ "mine"$/) })
    const id = saved.out.split(' ')[2]!
    expect((await elle('views', '--db', db)).out).toContain(`#/compare?view=${id}`)
    expect(JSON.parse((await elle('views', 'show', id, '--db', db)).out)).toMatchObject({ compare: { runs: [elleRun] } })
    expect(await elle('views', 'delete', id, '--db', db)).toMatchObject({ code: 0, out: `deleted view ${id} "mine"` })
    expect(await elle('views', 'show', id, '--db', db)).toMatchObject({ code: 1, err: `elle views: no saved view with id ${id}` })
  })
})
