import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { tempDir } from './tmp'

/** A tmpfs of our own: fill it, then `seal()` remounts it read-only. Root ignores permission bits (a 0555
 *  folder is still writable to root), so a read-only mount is the only truly read-only medium a test has. */
export interface ScratchMount {
  dir: string
  seal(): void
  unmount(): void
}

/** The mount, or why there is none (not root, or mount(8) refused: e.g. a container without CAP_SYS_ADMIN). */
export function mountScratch(): ScratchMount | string {
  if (process.getuid?.() !== 0) return 'needs root to mount a read-only tmpfs (permission bits alone do not stop root)'
  const dir = tempDir('elle-ro-')
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=32m,mode=0755', 'tmpfs', dir], { encoding: 'utf8' })
  if (mounted.status !== 0) {
    fs.rmdirSync(dir)
    return `mount -t tmpfs failed: ${(mounted.stderr || mounted.error?.message || '').trim()}`
  }
  return {
    dir,
    seal() {
      const result = spawnSync('mount', ['-o', 'remount,ro', dir], { encoding: 'utf8' })
      if (result.status !== 0) throw new Error(`remounting ${dir} read-only failed: ${result.stderr}`)
    },
    unmount() {
      spawnSync('umount', [dir])
      fs.rmdirSync(dir)
    }
  }
}
