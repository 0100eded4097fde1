// Uploading a corpus in browser mode (issue 13): the browser sends files one request each into a staging
// folder under the data directory, then starts the contract's domains.addJob with that folder. The limits are
// shared: the server enforces them (413 and the partial upload removed), the Streams view states them.

export const UPLOAD_LIMITS = {
  /** one file */
  fileBytes: 64 * 2 ** 20,
  /** all files of one upload */
  totalBytes: 256 * 2 ** 20,
  /** files in one upload */
  files: 5000,
  /** characters of a file's relative path (folder/sub/file.txt) */
  pathChars: 1000
} as const
export type UploadLimits = { [K in keyof typeof UPLOAD_LIMITS]: number }

/** What POST /api/uploads answers: the staging folder (on the serving machine) the files go to. */
export interface UploadStarted {
  id: string
  path: string
  limits: UploadLimits
}

/** What each PUT /api/uploads/ID?path=REL answers: the upload's running totals. */
export interface UploadProgress {
  files: number
  bytes: number
}

/** "64 MiB"; below 10 KiB exact ("2,000 bytes") */
export function formatUploadBytes(n: number): string {
  if (n < 10 * 2 ** 10) return `${n.toLocaleString('en')} bytes`
  if (n >= 2 ** 30) return `${+(n / 2 ** 30).toFixed(1)} GiB`
  if (n >= 2 ** 20) return `${+(n / 2 ** 20).toFixed(1)} MiB`
  return `${+(n / 2 ** 10).toFixed(1)} KiB`
}

/**
 * Why a file's relative path cannot be staged, or null: forward-slash segments, none empty, "." or "..",
 * no NUL, backslash or drive letter, and not hidden (the corpus reader skips dot-files).
 */
export function uploadPathProblem(rel: string, maxChars: number = UPLOAD_LIMITS.pathChars): string | null {
  if (rel.length === 0) return 'the file path is empty'
  if (rel.length > maxChars) return `the file path is longer than ${maxChars} characters`
  if (/[\0\\]/.test(rel) || /^[a-z]:/i.test(rel)) return `the file path ${JSON.stringify(rel.slice(0, 80))} has a NUL, a backslash or a drive letter`
  const segments = rel.split('/')
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return `the file path ${JSON.stringify(rel.slice(0, 80))} must be relative, without empty, "." or ".." parts`
  if (segments.some((s) => s.startsWith('.'))) return `the file ${JSON.stringify(rel.slice(0, 80))} is hidden (its name starts with "."); the corpus reader skips such files`
  return null
}

/** A file chosen for upload: its path inside the upload (folder/sub/file.txt) and its size. */
export interface UploadCandidate {
  rel: string
  size: number
}

/**
 * Why a selection cannot be uploaded, or null: checked in the page before anything is sent (the server checks
 * again). Empty selections, empty files, files or a total over the limits, too many files and unsafe paths.
 */
export function uploadSelectionProblem(files: readonly UploadCandidate[], limits: UploadLimits = UPLOAD_LIMITS): string | null {
  if (files.length === 0) return 'choose at least one file or a folder'
  if (files.length > limits.files) return `${files.length} files chosen; an upload holds at most ${limits.files}`
  let total = 0
  for (const f of files) {
    const problem = uploadPathProblem(f.rel, limits.pathChars)
    if (problem) return problem
    if (f.size > limits.fileBytes) return `${f.rel} is ${formatUploadBytes(f.size)}, over the ${formatUploadBytes(limits.fileBytes)} limit per file`
    total += f.size
  }
  if (total === 0) return 'the chosen files are all empty'
  if (total > limits.totalBytes) return `the chosen files come to ${formatUploadBytes(total)}, over the ${formatUploadBytes(limits.totalBytes)} limit per upload`
  return null
}

/** A domain name suggested by a folder or file name: "My Notes (2019).txt" → "my-notes-2019". */
export function suggestDomainName(from: string): string {
  const base = from
    .replace(/\.[a-z0-9]+$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|-+$/g, '')
  return base.slice(0, 64)
}
