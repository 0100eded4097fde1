// Corpus paths that are not plain files, size caps, and document keys relative to each root (issue 9).
import { execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { buildSync } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { fingerprintCorpus, readCorpus, readTextFile, type CorpusSource } from '../../../src/main/engine/data/corpus'
import { DataError } from '../../../src/main/engine/data/errors'
import { tempDir } from './helpers'

const root = tempDir()
let n = 0
function caseDir(): string {
  const d = path.join(root, `case${n++}`)
  fs.mkdirSync(d, { recursive: true })
  return d
}

function dataError(fn: () => unknown): DataError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(DataError)
    return e as DataError
  }
  throw new Error('expected a DataError')
}

const unix = process.platform !== 'win32'

/**
 * readCorpus in a child process with a deadline: a read that blocks on a FIFO blocks its whole thread,
 * so a hang can only be observed (and ended) from outside. The child runs the real module, bundled.
 */
function readCorpusInChild(src: CorpusSource, deadlineMs: number): Promise<{ timedOut: boolean; code?: string; message?: string; documents?: number }> {
  const bundle = path.join(caseDir(), 'child.mjs')
  buildSync({
    stdin: {
      contents: `import { readCorpus } from './src/main/engine/data/corpus'
        try {
          process.stdout.write(JSON.stringify({ documents: readCorpus(${JSON.stringify(src)}).documents.length }))
        } catch (e) {
          process.stdout.write(JSON.stringify({ code: e.code, message: e.message }))
        }`,
      resolveDir: path.resolve('.'),
      loader: 'ts'
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'silent'
  })
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve({ timedOut: true })
    }, deadlineMs)
    child.on('exit', () => {
      clearTimeout(timer)
      if (out !== '') resolve({ timedOut: false, ...(JSON.parse(out) as object) })
      else if (!child.killed) reject(new Error(`child failed: ${err}`))
    })
  })
}

describe.runIf(unix)('only regular files are read', () => {
  it('a FIFO given as a corpus path is refused at once, naming it, and never opened', async () => {
    const fifo = path.join(caseDir(), 'pipe.txt')
    execFileSync('mkfifo', [fifo])
    // First in another process with a deadline: a read that waits for a writer would hang this test's thread.
    const child = await readCorpusInChild({ paths: [fifo] }, 5000)
    expect(child).toMatchObject({ timedOut: false, code: 'NOT_REGULAR' })
    const started = Date.now()
    const e = dataError(() => readCorpus({ paths: [fifo] }))
    expect(Date.now() - started).toBeLessThan(2000)
    expect(e.code).toBe('NOT_REGULAR')
    expect(e.message).toContain(`${fifo} is not a regular file`)
    expect(e.message).toContain('FIFO')
    expect(dataError(() => fingerprintCorpus({ paths: [fifo] })).code).toBe('NOT_REGULAR')
    expect(dataError(() => readTextFile(fifo)).code).toBe('NOT_REGULAR')
  })

  it('/dev/zero (a device that never ends) is refused without reading it', () => {
    const e = dataError(() => readCorpus({ paths: ['/dev/zero'] }))
    expect(e.code).toBe('NOT_REGULAR')
    expect(e.message).toContain('/dev/zero is not a regular file (it is a character device)')
  })

  it('a link to a regular file is followed; a link to a FIFO is refused', async () => {
    const d = caseDir()
    fs.writeFileSync(path.join(d, 'real.txt'), 'a linked document')
    fs.symlinkSync(path.join(d, 'real.txt'), path.join(d, 'link.txt'))
    execFileSync('mkfifo', [path.join(d, 'pipe')])
    fs.symlinkSync(path.join(d, 'pipe'), path.join(d, 'pipe-link.txt'))
    expect(readCorpus({ paths: [path.join(d, 'link.txt')] }).documents.map((x) => x.text)).toEqual(['a linked document'])
    expect(await readCorpusInChild({ paths: [path.join(d, 'pipe-link.txt')] }, 5000)).toMatchObject({ timedOut: false, code: 'NOT_REGULAR' })
    expect(dataError(() => readCorpus({ paths: [path.join(d, 'pipe-link.txt')] })).code).toBe('NOT_REGULAR')
  })

  it('in a folder, FIFOs, sockets and links are skipped and listed with the reason', async () => {
    const d = caseDir()
    fs.writeFileSync(path.join(d, 'doc.txt'), 'the only document')
    execFileSync('mkfifo', [path.join(d, 'pipe.txt')])
    fs.symlinkSync(path.join(d, 'doc.txt'), path.join(d, 'link.txt'))
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(path.join(d, 'sock.txt'), resolve))
    try {
      const c = readCorpus({ paths: [d] })
      expect(c.documents.map((x) => x.id)).toEqual(['doc.txt'])
      expect(c.skipped.map((s) => [path.basename(s.file), s.reason])).toEqual([
        ['link.txt', 'symbolic link (not followed inside folders)'],
        ['pipe.txt', 'not a regular file (a FIFO (named pipe))'],
        ['sock.txt', 'not a regular file (a socket)']
      ])
      expect(c.skippedFiles.map((f) => path.basename(f))).toEqual(['link.txt', 'pipe.txt', 'sock.txt'])
    } finally {
      server.close()
    }
  })
})

describe('size caps', () => {
  it('a file over the per-file cap is refused naming the file, its size and the cap', () => {
    const d = caseDir()
    fs.writeFileSync(path.join(d, 'small.txt'), 'short text')
    fs.writeFileSync(path.join(d, 'big.txt'), 'word '.repeat(400)) // 2000 bytes
    const e = dataError(() => readCorpus({ paths: [d], maxFileBytes: 1000 }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toBe(
      `corpus file ${path.join(d, 'big.txt')} is 2.0 KiB (2000 bytes), over the per-file limit of 1000 bytes (raise it with maxFileBytes or ELLE_CORPUS_MAX_FILE_BYTES)`
    )
    expect(e.file).toBe(path.join(d, 'big.txt'))
    expect(readCorpus({ paths: [d], maxFileBytes: 2000 }).documents).toHaveLength(2)
  })

  it('a corpus over the per-domain cap is refused with its total and the cap', () => {
    const d = caseDir()
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(d, `f${i}.txt`), 'x'.repeat(800))
    const e = dataError(() => readCorpus({ paths: [d], maxDomainBytes: 2000 }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toBe(
      `corpus ${d} is 2.3 KiB (2400 bytes) in 3 files, over the per-domain limit of 2.0 KiB (2000 bytes) (raise it with maxDomainBytes or ELLE_CORPUS_MAX_DOMAIN_BYTES)`
    )
  })

  it('the caps come from the environment when the source has none; bad values are refused', () => {
    const d = caseDir()
    fs.writeFileSync(path.join(d, 'a.txt'), 'y'.repeat(3000))
    const saved = process.env.ELLE_CORPUS_MAX_FILE_BYTES
    try {
      process.env.ELLE_CORPUS_MAX_FILE_BYTES = '1024'
      expect(dataError(() => readCorpus({ paths: [d] })).message).toContain('over the per-file limit of 1 KiB (1024 bytes)')
      expect(readCorpus({ paths: [d], maxFileBytes: 4096 }).documents).toHaveLength(1) // the source's own cap wins
      process.env.ELLE_CORPUS_MAX_FILE_BYTES = 'lots'
      expect(dataError(() => readCorpus({ paths: [d] })).message).toBe('ELLE_CORPUS_MAX_FILE_BYTES must be a positive whole number of bytes, got "lots"')
    } finally {
      if (saved === undefined) delete process.env.ELLE_CORPUS_MAX_FILE_BYTES
      else process.env.ELLE_CORPUS_MAX_FILE_BYTES = saved
    }
  })

  it('a large file is read in chunks: text, validation and hash are the same as a whole-file read', () => {
    const d = caseDir()
    // 3 MiB with multi-byte characters straddling the 1 MiB chunk edges.
    const text = 'é€😀 line of text\n'.repeat((3 * 2 ** 20) / 22)
    fs.writeFileSync(path.join(d, 'big.txt'), `\uFEFF${text}`)
    const c = readCorpus({ paths: [path.join(d, 'big.txt')] })
    expect(c.documents[0]?.text).toBe(text)
    expect(c.hash).toBe(fingerprintCorpus({ paths: [path.join(d, 'big.txt')] }).hash)
    const lines = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ text: `record ${i} ${'ü'.repeat(i % 50)}` })).join('\n')
    fs.writeFileSync(path.join(d, 'big.jsonl'), lines)
    const j = readCorpus({ paths: [path.join(d, 'big.jsonl')] })
    expect(j.documents).toHaveLength(30_000)
    expect(j.documents[29_999]).toMatchObject({ id: 'big.jsonl:30000', text: `record 29999 ${'ü'.repeat(29_999 % 50)}` })
    // Invalid UTF-8 far past the first chunk is still found.
    fs.writeFileSync(path.join(d, 'late.txt'), Buffer.concat([Buffer.from('a'.repeat(2 ** 21)), Buffer.from([0xc3, 0x28])]))
    expect(dataError(() => readCorpus({ paths: [path.join(d, 'late.txt')] })).code).toBe('INVALID_UTF8')
  })
})

describe('document keys are relative to each root', () => {
  it('two folders that both contain same.txt give two documents', () => {
    const a = path.join(caseDir(), 'a')
    const b = path.join(path.dirname(a), 'b')
    for (const [dir, text] of [
      [a, 'first copy'],
      [b, 'second copy']
    ] as const) {
      fs.mkdirSync(path.join(dir, 'sub'), { recursive: true })
      fs.writeFileSync(path.join(dir, 'same.txt'), text)
      fs.writeFileSync(path.join(dir, 'sub', `${path.basename(dir)}-only.txt`), `only in ${dir}`)
    }
    const c = readCorpus({ paths: [a, b] })
    // Only the clashing names get their root in front; the others keep the ids they always had.
    expect(c.documents.map((d) => [d.id, d.text])).toEqual([
      ['a/same.txt', 'first copy'],
      ['sub/a-only.txt', `only in ${a}`],
      ['b/same.txt', 'second copy'],
      ['sub/b-only.txt', `only in ${b}`]
    ])
    expect(readCorpus({ paths: [b, a] }).hash).toBe(c.hash)
    expect(fingerprintCorpus({ paths: [a, b] }).hash).toBe(c.hash)
  })

  it('roots with the same folder name are told apart by their position; single files by their folder', () => {
    const x = path.join(caseDir(), 'x', 'data')
    const y = path.join(path.dirname(path.dirname(x)), 'y', 'data')
    for (const dir of [x, y]) {
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(path.join(dir, 'same.txt'), `text in ${dir}`)
    }
    expect(readCorpus({ paths: [x, y] }).documents.map((d) => d.id)).toEqual(['0-data/same.txt', '1-data/same.txt'])
    const f1 = path.join(path.dirname(x), 'note.txt')
    const f2 = path.join(path.dirname(y), 'note.txt')
    fs.writeFileSync(f1, 'one note')
    fs.writeFileSync(f2, 'another note')
    expect(readCorpus({ paths: [f1, f2] }).documents.map((d) => d.id)).toEqual(['x/note.txt', 'y/note.txt'])
  })
})
