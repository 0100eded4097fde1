// A store open in this process keeps its SQLite lock when the same store is opened again here (what a
// run worker does while the engine holds it): another process must still see it in use, or an older
// sqlite3 shell closing its own connection would checkpoint and delete the WAL under us.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ExperimentStore } from '../../../src/main/engine/store/store'
import { tempDir } from '../../helpers/tmp'

// SQLite's unix locking: a SHARED lock is a read lock on the 510-byte range after PENDING_BYTE + 2.
const PROBE = `
import fcntl, sys
with open(sys.argv[1], 'r+b') as f:
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 510, 0x40000002, 0)
        print('free')
    except OSError:
        print('in use')
`
const probe = (file: string): string => execFileSync('python3', ['-c', PROBE, file], { encoding: 'utf8' }).trim()

describe('store locks', () => {
  it('a second open in the same process leaves the first connection visible to other processes', () => {
    const file = path.join(tempDir(), 'experiments.sqlite')
    const engine = ExperimentStore.open(file)
    engine.listRuns() // a read: WAL mode then holds its SHARED lock for the life of the connection
    expect(probe(file)).toBe('in use')
    const worker = ExperimentStore.open(file)
    worker.close()
    expect(probe(file)).toBe('in use')
    expect(engine.listRuns()).toEqual([])
    engine.close()
    expect(probe(file)).toBe('free')
  })
})
