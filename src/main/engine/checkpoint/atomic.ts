/**
 * Atomic replacement of a whole directory: the new contents are written into a sibling
 * `<dir>.partial-<pid>-<random>`, every file and the directory are fsynced, then it is renamed into place.
 * An existing `<dir>` is first renamed to `<dir>.previous` and removed only after the new one is in place,
 * so at every instant either the old or the new complete directory exists under one of the two names.
 * `recoverDir` undoes a crash between the two renames (dir missing, `.previous` present).
 */
import { createHash, type Hash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { CheckpointError } from './errors'

export const PREVIOUS_SUFFIX = '.previous'
export const PARTIAL_INFIX = '.partial-'

/** Test seams that let a test fail the write at a chosen point, as a crash would. */
export interface AtomicWriteHooks {
  /** After each file is written and fsynced inside the temp directory. */
  afterFile?: (name: string) => void | Promise<void>
  /** After the old directory was moved to `.previous`, before the new one is renamed into place. */
  afterBackup?: () => void | Promise<void>
}

export interface AtomicWriteOptions {
  /** Whether an existing non-empty directory may be replaced (e.g. it holds a checkpoint). */
  canReplace: (dir: string) => Promise<boolean>
  /** What the directory holds, for messages ("checkpoint", "Hugging Face export"). */
  what: string
  hooks?: AtomicWriteHooks
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p)
    return true
  } catch {
    return false
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.FileHandle | undefined
  try {
    fh = await fs.open(dir, 'r')
    await fh.sync()
  } catch (e) {
    // Windows cannot open or fsync a directory; the renames there are still atomic.
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e
  } finally {
    await fh?.close()
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Restores `<dir>` from `<dir>.previous` after a crash between the two renames; drops stale leftovers. */
export async function recoverDir(dir: string): Promise<void> {
  const abs = path.resolve(dir)
  const previous = abs + PREVIOUS_SUFFIX
  if (await exists(previous)) {
    if (!(await exists(abs))) await fs.rename(previous, abs)
    else await fs.rm(previous, { recursive: true, force: true }) // the new one was already in place
  }
  // Temp directories of writers that died (their pid is gone); live writers keep theirs.
  const parent = path.dirname(abs)
  const prefix = path.basename(abs) + PARTIAL_INFIX
  let names: string[] = []
  try {
    names = await fs.readdir(parent)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(name.slice(prefix.length).split('-')[0])
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) {
      await fs.rm(path.join(parent, name), { recursive: true, force: true })
    }
  }
}

/** Writes a file inside the temp directory, fsyncs it and returns its size and sha256. */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<{ bytes: number; sha256: string }> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const fh = await fs.open(file, 'w')
  try {
    let done = 0
    while (done < buf.length) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done, done)
      done += bytesWritten
    }
    await fh.sync()
  } finally {
    await fh.close()
  }
  return { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') }
}

/** Streams a file through a hash (for files we do not otherwise read whole). */
export async function hashFile(file: string, hash: Hash = createHash('sha256')): Promise<{ bytes: number; sha256: string }> {
  const fh = await fs.open(file, 'r')
  try {
    const buf = new Uint8Array(1 << 20)
    let bytes = 0
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, bytes)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
      bytes += bytesRead
    }
    return { bytes, sha256: hash.digest('hex') }
  } finally {
    await fh.close()
  }
}

/**
 * Fills a fresh temp sibling of `dir` with `fill`, then moves it into place. On any error before the
 * swap the temp directory is removed and `dir` is untouched.
 */
export async function writeDirAtomic<T>(dir: string, fill: (tmp: string) => Promise<T>, opts: AtomicWriteOptions): Promise<T> {
  const abs = path.resolve(dir)
  await fs.mkdir(path.dirname(abs), { recursive: true })
  await recoverDir(abs)
  let replacing = false
  if (await exists(abs)) {
    const st = await fs.stat(abs)
    if (!st.isDirectory()) throw new CheckpointError('NOT_REPLACEABLE', `${abs} exists and is not a directory; refusing to replace it`, { file: abs })
    const empty = (await fs.readdir(abs)).length === 0
    if (!empty && !(await opts.canReplace(abs))) {
      throw new CheckpointError('NOT_REPLACEABLE', `${abs} is not empty and does not hold a ${opts.what}; refusing to replace it`, { file: abs })
    }
    replacing = true
  }

  const tmp = await fs.mkdtemp(`${abs}${PARTIAL_INFIX}${process.pid}-`)
  let result: T
  try {
    result = await fill(tmp)
    await fsyncDir(tmp)
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true })
    throw e
  }

  const previous = abs + PREVIOUS_SUFFIX
  if (replacing) {
    await fs.rename(abs, previous)
    try {
      await opts.hooks?.afterBackup?.()
      await fs.rename(tmp, abs)
    } catch (e) {
      if (!(await exists(abs))) await fs.rename(previous, abs)
      await fs.rm(tmp, { recursive: true, force: true })
      throw e
    }
    await fsyncDir(path.dirname(abs))
    await fs.rm(previous, { recursive: true, force: true })
  } else {
    await fs.rename(tmp, abs)
    await fsyncDir(path.dirname(abs))
  }
  return result
}
