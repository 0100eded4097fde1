// Job results are typed per kind (src/shared/jobs.ts): a client reads a stored result as its kind's, and a
// result that does not match is refused naming the field (the job host refuses to store one).
import { describe, expect, it } from 'vitest'
import { JOB_KINDS } from '../../src/shared/contract'
import { JOB_RESULTS, jobResult } from '../../src/shared/jobs'

const exported = {
  path: '/tmp/hf',
  architecture: 'GPT2LMHeadModel',
  bytes: 10,
  files: [{ name: 'config.json', bytes: 10, sha256: 'ab' }],
  checkpointSha256: 'cd'
}

describe('job results', () => {
  it('have a schema for every job kind', () => {
    expect(Object.keys(JOB_RESULTS).sort()).toEqual([...JOB_KINDS].sort())
  })

  it('read a stored result as its kind, and refuse one that does not match, naming the field', () => {
    expect(jobResult('export', exported).files[0]!.name).toBe('config.json')
    expect(() => jobResult('export', { ...exported, bytes: 'ten' })).toThrow("the export job's result does not match its schema: bytes: ")
    expect(() => jobResult('grow', exported)).toThrow(/grow job's result .*: from: /)
    // a NaN stored as JSON reads back as null (a mean over no seeds)
    const evaluated = { checkpoint: '/c', on: 'press', loss: 1, ppl: Math.E, tokens: 64, sequences: 2 }
    expect(jobResult('evaluate', JSON.parse(JSON.stringify(evaluated)))).toEqual(evaluated)
  })
})
