import { tempDir as testTempDir } from '../../helpers/tmp'

/** A fresh temp dir removed after the file's tests. */
export function tempDir(prefix = 'elle-data-'): string {
  return testTempDir(prefix)
}

/** Small deterministic English-ish text (no corpus text is stored in the repo). */
export function syntheticText(seed: number, words = 400): string {
  const vocab = [
    'the',
    'model',
    'learns',
    'a',
    'new',
    'domain',
    'while',
    'it',
    'keeps',
    'old',
    'knowledge',
    'of',
    'text',
    'and',
    'data',
    'grows',
    'wider',
    'deeper',
    'with',
    'prompts',
    'memory',
    'replay',
    'stream',
    'token',
    'language',
    'function',
    'preserving'
  ]
  let x = (seed * 2654435761) >>> 0
  const out: string[] = []
  for (let i = 0; i < words; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out.push(vocab[x % vocab.length] as string)
    if (i % 12 === 11) out[out.length - 1] += '.'
  }
  return out.join(' ')
}
