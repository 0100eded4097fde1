// `elle queue` through the contract, in this process as bin/elle runs main(): settings, refusals and exit codes
// (training through the queue: queue-restart.test.ts).
import path from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { tempDir } from '../helpers/tmp'
import { elleInProcess } from './in-process'

const elle = elleInProcess

describe('elle queue', () => {
  const db = path.join(tempDir(), 'cli-queue.sqlite')
  afterAll(() => vi.restoreAllMocks())

  it('sets the window, slots and hook, and refuses a window of zero length naming the field', async () => {
    const set = await elle('queue', '--window', '20:00-7:30', '--days', 'weekdays', '--slots', '2', '--notify', 'notify-send queue', '--db', db)
    expect(set.code, set.err).toBe(0)
    expect(set.out).toContain('window: 20:00-07:30 mon,tue,wed,thu,fri (local time)')
    expect(set.out).toContain('slots: 2')
    expect(set.out).toContain('notify: notify-send queue')
    expect(await elle('queue', '--window', '20:00-20:00', '--db', db)).toMatchObject({ code: 1, err: expect.stringMatching(/^elle queue: window\.end: .*zero length/) })
    expect(await elle('queue', '--cron', '0 0 30 2 *', '--minutes', '60', '--db', db)).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^elle queue: window\.cron: .*never fires/)
    })
    expect((await elle('queue', '--cron', '0 20 * * *', '--db', db)).code).toBe(2) // needs --minutes
    expect((await elle('queue', '--window', 'tonight', '--db', db)).code).toBe(2)
    const listed = JSON.parse((await elle('queue', '--db', db, '--json')).out) as { settings: { slots: number; window: { start: string } } }
    expect(listed.settings).toMatchObject({ slots: 2, window: { start: '20:00', end: '07:30' } })
  })

  it('pauses and resumes, and refuses bad subcommands and arguments', async () => {
    expect(await elle('queue', 'pause', '--db', db)).toMatchObject({ code: 0, out: expect.stringContaining('the queue is paused') })
    expect((JSON.parse((await elle('queue', 'list', '--db', db, '--json')).out) as { paused: boolean }).paused).toBe(true)
    expect((await elle('queue', 'resume', '--db', db)).code).toBe(0)
    expect((await elle('queue', 'frobnicate', '--db', db)).code).toBe(2)
    expect((await elle('queue', 'move', '1', '--db', db)).code).toBe(2)
    expect((await elle('queue', 'sweep', '--preset', 'elle-gpt-demo', '--db', db)).err).toBe('elle queue: elle queue sweep needs --group NAME')
    expect(await elle('queue', 'add', '--preset', 'nope', '--db', db)).toMatchObject({ code: 1, err: expect.stringMatching(/^elle queue: preset: no preset named "nope"/) })
    expect(await elle('queue', 'retry', '987654', '--db', db)).toMatchObject({ code: 1, err: 'elle queue: run 987654 is not in the queue' })
  })

  it('queues a job (add-job METHOD PARAMS), lists, moves and removes it as job:N, and refuses bad input', async () => {
    expect((await elle('queue', 'pause', '--db', db)).code).toBe(0)
    const params = JSON.stringify({ path: path.join(tempDir(), 'hf-model') })
    expect(await elle('queue', 'add-job', 'checkpoints.import', params, '--after-jobs', '987654', '--db', db)).toMatchObject({
      code: 1,
      err: 'elle queue: afterJobs: no job with id 987654'
    })
    expect((await elle('queue', 'add-job', 'frobnicate', '{}', '--db', db)).code).toBe(2)
    expect((await elle('queue', 'add-job', 'checkpoints.import', '--db', db)).code).toBe(2)
    expect((await elle('queue', 'add-job', 'checkpoints.import', params, '--hours', '2', '--db', db)).code).toBe(2)
    const added = await elle('queue', 'add-job', 'checkpoints.import', params, '--db', db)
    expect(added.code, added.err).toBe(0)
    const id = /^queued job (\d+) \(import .*hf-model\) at position \d+: waits for a queue runner/m.exec(added.out)?.[1]
    expect(id, added.out).toBeDefined()
    const listed = await elle('queue', '--db', db)
    expect(listed.out).toMatch(new RegExp(`job:${id} +│? *waiting`))
    expect((await elle('queue', 'move', `job:${id}`, 'top', '--db', db)).code).toBe(0)
    expect(await elle('queue', 'remove', `job:${id}`, '--db', db)).toMatchObject({ code: 0, out: expect.stringContaining(`removed job ${id} (import `) })
    expect((await elle('queue', '--db', db)).out).not.toContain(`job:${id}`)
  })
})
