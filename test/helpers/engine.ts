import path from 'node:path'
import { inject } from 'vitest'
import { Engine } from '../../src/main/engine/engine'
import { tempDir } from './tmp'

/**
 * A real engine (automatic backend choice) on a real store file in a temp directory; its data directory
 * is the session's shared one, where the global setup prepared the built-in default stream.
 */
export async function tempEngine(): Promise<Engine> {
  return Engine.open({ dbPath: path.join(tempDir(), 'store.sqlite'), dataDir: inject('dataDir'), backend: {} })
}
