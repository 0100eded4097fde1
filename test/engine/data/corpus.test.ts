import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { fingerprintCorpus, readCorpus } from '../../../src/main/engine/data/corpus'
import { DataError } from '../../../src/main/engine/data/errors'
import { tempDir } from './helpers'

const root = tempDir()
let n = 0
function file(name: string, content: string | Uint8Array): string {
  const d = path.join(root, `case${n++}`)
  const f = path.join(d, name)
  fs.mkdirSync(path.dirname(f), { recursive: true })
  fs.writeFileSync(f, content)
  return f
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

describe('readCorpus: valid inputs', () => {
  it('reads text files, recursive folders (skipping non-text files) and JSONL', () => {
    const a = file('a.txt', 'first document')
    const folder = path.dirname(path.dirname(file('sub/b.md', '# second')))
    fs.writeFileSync(path.join(folder, 'c.txt'), 'third')
    fs.writeFileSync(path.join(folder, 'notes'), 'extension-less text is sniffed and kept')
    fs.writeFileSync(path.join(folder, 'image.png'), Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2]))
    const jl = file('d.jsonl', '{"body":"fourth","id":"x1"}\n\n{"body":"fifth","id":"x2"}\n')
    const c = readCorpus({ paths: [a, folder] })
    expect(c.documents.map((d) => d.id)).toEqual(['a.txt', 'c.txt', 'notes', 'sub/b.md'])
    expect(c.skippedFiles.map((f) => path.basename(f))).toEqual(['image.png'])
    const j = readCorpus({ paths: [jl], textField: 'body', idField: 'id' })
    expect(j.documents.map((d) => [d.id, d.text])).toEqual([
      ['x1', 'fourth'],
      ['x2', 'fifth']
    ])
    expect(readCorpus({ paths: [jl], textField: 'body' }).documents[1]?.id).toBe('d.jsonl:3')
  })

  it('corpus hash depends on contents and names, not on reading order', () => {
    const d = path.dirname(file('x.txt', 'one'))
    fs.writeFileSync(path.join(d, 'y.txt'), 'two')
    const h1 = fingerprintCorpus({ paths: [d] }).hash
    expect(readCorpus({ paths: [d] }).hash).toBe(h1)
    fs.writeFileSync(path.join(d, 'y.txt'), 'two!')
    const h2 = fingerprintCorpus({ paths: [d] }).hash
    expect(h2).not.toBe(h1)
    fs.renameSync(path.join(d, 'y.txt'), path.join(d, 'z.txt'))
    expect(fingerprintCorpus({ paths: [d] }).hash).not.toBe(h2)
  })
})

describe('readCorpus: every bad input is a DataError naming the file', () => {
  it('empty file', () => {
    const f = file('empty.txt', '')
    const e = dataError(() => readCorpus({ paths: [f] }))
    expect(e.code).toBe('EMPTY_FILE')
    expect(e.message).toContain(f)
    expect(dataError(() => readCorpus({ paths: [file('blank.txt', ' \n\t\n')] })).code).toBe('EMPTY_FILE')
  })

  it('binary file: NUL bytes', () => {
    const f = file('data.txt', Uint8Array.from([0x68, 0x69, 0x00, 0x01, 0x02]))
    const e = dataError(() => readCorpus({ paths: [f] }))
    expect(e.code).toBe('BINARY_FILE')
    expect(e.message).toContain(f)
    expect(e.file).toBe(f)
  })

  it('binary file: many control characters', () => {
    const f = file('ctl.txt', Uint8Array.from(Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 0x01 : 0x61))))
    const e = dataError(() => readCorpus({ paths: [f] }))
    expect(e.code).toBe('BINARY_FILE')
    expect(e.message).toContain('ctl.txt')
  })

  it('invalid UTF-8', () => {
    const f = file('latin1.txt', Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b])) // "café ok" in latin1
    const e = dataError(() => readCorpus({ paths: [f] }))
    expect(e.code).toBe('INVALID_UTF8')
    expect(e.message).toContain(f)
  })

  it('a bad .txt inside a folder is reported with its own path', () => {
    const good = file('folder/good.txt', 'fine')
    fs.writeFileSync(path.join(path.dirname(good), 'bad.txt'), Uint8Array.from([0xff, 0xfe, 0x41]))
    const e = dataError(() => readCorpus({ paths: [path.dirname(good)] }))
    expect(e.code).toBe('INVALID_UTF8')
    expect(e.message).toContain('bad.txt')
  })

  it('folder with no text files', () => {
    const d = path.dirname(file('only/pic.bin', Uint8Array.from([0, 1, 2, 3])))
    fs.mkdirSync(path.join(d, 'empty-sub'))
    const e = dataError(() => readCorpus({ paths: [d] }))
    expect(e.code).toBe('NO_TEXT_FILES')
    expect(e.message).toContain(d)
  })

  it('JSONL line that is not JSON: file and line number', () => {
    const f = file('bad.jsonl', '{"text":"ok"}\n{"text": oops}\n')
    const e = dataError(() => readCorpus({ paths: [f] }))
    expect(e.code).toBe('JSONL_PARSE')
    expect(e.message).toContain(`${f}:2`)
    expect(e.line).toBe(2)
  })

  it('JSONL line without the text field: file, line and field name', () => {
    const f = file('nofield.jsonl', '{"text":"ok"}\n{"text":"ok too"}\n{"content":"wrong field"}\n')
    const e = dataError(() => readCorpus({ paths: [f] }))
    expect(e.code).toBe('JSONL_FIELD')
    expect(e.message).toContain(`${f}:3`)
    expect(e.message).toContain('"text"')
    const custom = dataError(() => readCorpus({ paths: [file('c.jsonl', '{"text":"x"}\n')], textField: 'body' }))
    expect(custom.code).toBe('JSONL_FIELD')
    expect(custom.message).toContain('"body"')
    const notString = dataError(() => readCorpus({ paths: [file('n.jsonl', '{"text":42}\n')] }))
    expect(notString.message).toContain('number')
  })

  it('missing path', () => {
    const e = dataError(() => readCorpus({ paths: [path.join(root, 'nope.txt')] }))
    expect(e.code).toBe('NOT_FOUND')
    expect(e.message).toContain('nope.txt')
  })
})
