import { describe, expect, it } from 'vitest'
import { splitDocuments } from '../../../src/main/engine/data/split'

const docs = (n: number, prefix = 'doc'): Array<{ id: string }> => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}` }))

describe('splitDocuments', () => {
  it('is deterministic and independent of document order', () => {
    const a = splitDocuments(docs(500), { seed: 7 })
    const b = splitDocuments([...docs(500)].reverse(), { seed: 7 })
    expect(b).toEqual(a)
    expect(splitDocuments(docs(500), { seed: 8 })).not.toEqual(a)
  })

  it('roughly follows the 90/5/5 default and partitions all documents', () => {
    const s = splitDocuments(docs(4000))
    expect(s.train.length + s.validation.length + s.test.length).toBe(4000)
    expect(new Set([...s.train, ...s.validation, ...s.test]).size).toBe(4000)
    expect(s.train.length / 4000).toBeGreaterThan(0.87)
    expect(s.validation.length / 4000).toBeGreaterThan(0.035)
    expect(s.test.length / 4000).toBeGreaterThan(0.035)
  })

  it('keeps a document in its split when others are added (hash-based)', () => {
    const small = splitDocuments(docs(300))
    const big = splitDocuments([...docs(300), ...docs(300, 'extra')])
    for (const id of small.test) expect(big.test).toContain(id)
  })

  it('tiny corpora still get a validation and a test document', () => {
    for (const n of [3, 4, 5, 10]) {
      for (let seed = 0; seed < 20; seed++) {
        const s = splitDocuments(docs(n), { seed })
        expect(s.validation.length).toBeGreaterThanOrEqual(1)
        expect(s.test.length).toBeGreaterThanOrEqual(1)
        expect(s.train.length).toBeGreaterThanOrEqual(1)
      }
    }
    expect(splitDocuments(docs(2)).train.length + splitDocuments(docs(2)).validation.length + splitDocuments(docs(2)).test.length).toBe(2)
  })

  it('stratified split gives every group validation and test documents', () => {
    const labelled = [...docs(6, 'm'), ...docs(80, 'j')].map((d) => ({ ...d, label: d.id[0] as string }))
    const s = splitDocuments(labelled, { ratios: [0.8, 0.1, 0.1] }, (d) => d.label)
    expect(s.test.some((id) => id.startsWith('m'))).toBe(true)
    expect(s.validation.some((id) => id.startsWith('m'))).toBe(true)
  })
})
