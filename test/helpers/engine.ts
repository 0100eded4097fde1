import path from 'node:path'
import { Engine } from '../../src/main/engine/engine'
import { tempDir } from './tmp'

/** A real engine (automatic backend choice) on a real store file in a temp directory. */
export async function tempEngine(): Promise<Engine> {
  return Engine.open({ dbPath: path.join(tempDir(), 'store.sqlite'), backend: {} })
}
