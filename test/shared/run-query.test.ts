// The runs table's filter language: precedence, numbers against text, tags, search, and errors that say where.
import { describe, expect, it } from 'vitest'
import { filterRows, parseQuery, QueryError, sortRows, tryParseQuery, type FlatRow } from '../../src/shared/run-query'

const rows: FlatRow[] = [
  { id: 1, method: 'elle', seed: 0, tags: ['best', 'paper'], note: 'the headline run', 'config.training.lr': 0.001, 'final.ap': 40.5, experiment: 'elle-gpt' },
  { id: 2, method: 'elle', seed: 3, tags: [], note: '', 'config.training.lr': 0.002, 'final.ap': 38.25, experiment: 'elle-gpt' },
  { id: 3, method: 'ewc', seed: 1, tags: ['paper'], note: 'diverged once', 'config.training.lr': 0.001, 'final.ap': null, experiment: 'ewc-gpt' },
  { id: 4, method: 'naive', seed: 10, tags: [], note: '', 'config.training.lr': 0.01, 'final.ap': 55, experiment: 'naive 10' }
]
const ids = (query: string, search = ''): number[] => filterRows(rows, query, search, (r) => r).map((r) => r.id as number)

describe('filter queries', () => {
  it('keeps rows matching field comparisons, with and binding tighter than or', () => {
    expect(ids('')).toEqual([1, 2, 3, 4])
    expect(ids('method = elle and seed < 3')).toEqual([1])
    expect(ids('method = ewc or method = elle and seed > 2')).toEqual([2, 3])
    expect(ids('(method = ewc or method = elle) and seed > 0')).toEqual([2, 3])
    expect(ids('not method = elle')).toEqual([3, 4])
    expect(ids('method != elle AND seed >= 10')).toEqual([4])
    // side by side means and
    expect(ids('elle seed <= 0')).toEqual([1])
  })

  it('compares numbers as numbers and quoted values as text', () => {
    expect(ids('seed < 10')).toEqual([1, 2, 3]) // 10 is not < 10; text order would put "3" after "10"
    expect(ids('seed = 3')).toEqual([2])
    expect(ids('seed = "3"')).toEqual([2]) // text equality of "3"
    expect(ids('ap > 39')).toEqual([1, 4]) // a short name for final.ap; a run without AP never matches
    expect(ids('ap = null')).toEqual([3])
    expect(ids('lr = 0.001')).toEqual([1, 3]) // the one config field ending in .lr
    expect(ids('config.training.lr > 1e-3')).toEqual([2, 4])
    expect(ids('experiment ~ GPT')).toEqual([1, 2, 3])
    expect(ids('experiment = "naive 10"')).toEqual([4])
  })

  it('asks tags and searches every cell for bare words', () => {
    expect(ids('tag = paper')).toEqual([1, 3])
    expect(ids('tag != paper')).toEqual([2, 4])
    expect(ids('tags ~ pap and seed > 0')).toEqual([3])
    expect(ids('diverged')).toEqual([3])
    expect(ids('"headline run"')).toEqual([1])
    expect(ids('', 'ELLE 38.25')).toEqual([2])
    expect(ids('unknownfield = 3')).toEqual([])
  })

  it('names the problem and its position', () => {
    const problem = (q: string) => {
      const r = tryParseQuery(q)
      return r.ok ? null : r.error.message
    }
    expect(problem('method = elle and seed <')).toBe('expected a value after "<" at 25')
    expect(problem('method = elle and seed < and')).toBe('expected a value after "<" at 26')
    expect(problem('method = elle and')).toBe('expected a condition after "and" at 18')
    expect(problem('(method = elle or seed > 1')).toBe('unclosed "(" (opened at 1) at 27')
    expect(problem('method = elle)')).toBe('unexpected ")" at 14')
    expect(problem('= elle')).toBe('expected a field name before "=" at 1')
    expect(problem('note ~ "open')).toBe('unterminated string (missing ") at 8')
    expect(problem('seed ! 3')).toBe('"!" must be followed by "=" at 6')
    expect(problem('()')).toBe('empty parentheses at 2')
    expect(problem('or seed = 1')).toBe('expected a condition before "or" at 1')
    expect(() => parseQuery('seed <')).toThrow(QueryError)
    expect(() => filterRows(rows, 'seed <', '', (r) => r)).toThrow('expected a value after "<" at 7')
  })
})

describe('sorting', () => {
  it('orders numbers by value and text naturally, empty cells last in both directions', () => {
    const by = (column: string, dir: 'asc' | 'desc') => sortRows(rows, column, dir, (r) => r).map((r) => r.id)
    expect(by('final.ap', 'asc')).toEqual([2, 1, 4, 3])
    expect(by('final.ap', 'desc')).toEqual([4, 1, 2, 3])
    expect(by('seed', 'desc')).toEqual([4, 2, 3, 1])
    expect(by('note', 'asc')).toEqual([3, 1, 2, 4])
    expect(by('experiment', 'asc')).toEqual([1, 2, 3, 4])
  })
})
