// The upload rules the page checks before sending (the server checks them again, test/api/uploads.test.ts).
import { describe, expect, it } from 'vitest'
import { formatUploadBytes, suggestDomainName, uploadPathProblem, uploadSelectionProblem } from '../../src/shared/uploads'

const limits = { fileBytes: 100, totalBytes: 250, files: 3, pathChars: 40 }

describe('upload rules', () => {
  it('names the problem with a selection: empty, all-empty files, a file or the total over its limit, too many files, an unsafe path', () => {
    expect(uploadSelectionProblem([], limits)).toBe('choose at least one file or a folder')
    expect(uploadSelectionProblem([{ rel: 'a.txt', size: 0 }], limits)).toBe('the chosen files are all empty')
    expect(uploadSelectionProblem([{ rel: 'a.txt', size: 101 }], limits)).toBe('a.txt is 101 bytes, over the 100 bytes limit per file')
    expect(
      uploadSelectionProblem(
        [1, 2, 3].map((i) => ({ rel: `${i}.txt`, size: 90 })),
        limits
      )
    ).toBe('the chosen files come to 270 bytes, over the 250 bytes limit per upload')
    expect(
      uploadSelectionProblem(
        [1, 2, 3, 4].map((i) => ({ rel: `${i}.txt`, size: 1 })),
        limits
      )
    ).toBe('4 files chosen; an upload holds at most 3')
    expect(uploadSelectionProblem([{ rel: 'notes/../x.txt', size: 1 }], limits)).toContain('without empty, "." or ".." parts')
    expect(uploadSelectionProblem([{ rel: 'notes/a.txt', size: 10 }], limits)).toBeNull()
  })

  it('refuses paths that could leave the staging folder or that the reader would skip', () => {
    for (const bad of ['', '/etc/passwd', 'a//b', '../a', 'a\\b', 'c:x', '.env', 'a/.git/x', 'x'.repeat(41)]) expect(uploadPathProblem(bad, 40), bad).not.toBeNull()
    expect(uploadPathProblem('folder/sub dir/file (1).txt', 40)).toBeNull()
  })

  it('suggests a domain name from a folder or file name, and says sizes plainly', () => {
    expect(suggestDomainName('My Notes (2019).txt')).toBe('my-notes-2019')
    expect(suggestDomainName('field-notes')).toBe('field-notes')
    expect(formatUploadBytes(64 * 2 ** 20)).toBe('64 MiB')
    expect(formatUploadBytes(2000)).toBe('2,000 bytes')
  })
})
