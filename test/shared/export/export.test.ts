// The export files: the long CSV parses back field for field (labels with quotes, commas and line breaks),
// and the LaTeX tables escape the special characters and use booktabs rules.
import { describe, expect, it } from 'vitest'
import { CSV_COLUMNS, csvLong, metricMatcher, parseCsv, type LongRow } from '../../../src/shared/export/csv'
import { latexApTable, latexDownstreamTable, latexEscape } from '../../../src/shared/export/latex'
import type { ComparedRun } from '../../../src/shared/contract'

describe('csvLong', () => {
  it('parses back with quotes, commas and newlines in labels', () => {
    const nasty = 'run "one", with\na newline'
    const rows: LongRow[] = [
      { runId: 1, runLabel: nasty, metric: 'ppl/news,wire', phase: 'train', stage: 0, domain: 'news', step: 10, tokens: 1024, wallS: 1.5, flops: 1e12, value: 123.25 },
      { runId: 2, runLabel: 'plain', metric: 'loss', phase: 'frw', stage: null, domain: null, step: 20, tokens: 2048, wallS: 3, flops: 2e12, value: Infinity }
    ]
    const parsed = parseCsv(csvLong(rows))
    expect(parsed[0]).toEqual([...CSV_COLUMNS])
    expect(parsed).toHaveLength(3)
    expect(parsed[1]).toEqual(['1', nasty, 'ppl/news,wire', 'train', '0', 'news', '10', '1024', '1.5', '1000000000000', '123.25'])
    expect(parsed[2]).toEqual(['2', 'plain', 'loss', 'frw', '', '', '20', '2048', '3', '2000000000000', 'inf'])
  })
  it('chooses metrics by exact name and prefix/* family', () => {
    const m = metricMatcher(['ap', 'ppl/*'])
    expect(['ap', 'ap_geo', 'ppl/news', 'ppl_lo/news'].filter(m)).toEqual(['ap', 'ppl/news'])
    expect(metricMatcher(undefined)('anything')).toBe(true)
  })
})

describe('LaTeX tables', () => {
  it('escapes _ % & # and the other specials', () => {
    expect(latexEscape('a_b 50% R&D #1 {x} ~^ \\')).toBe('a\\_b 50\\% R\\&D \\#1 \\{x\\} \\textasciitilde{}\\textasciicircum{} \\textbackslash{}')
  })
  const run = (id: number, method: string, apGeo: number, downstream: ComparedRun['downstream']) =>
    ({
      id,
      method,
      elle: method === 'elle',
      experimentName: `exp_${id} 100%`,
      seed: 0,
      final: { ap: apGeo + 1, apPlus: 2, apGeo, domainsSeen: 2, ci: { ap: null, apPlus: null, apGeo: { lo: apGeo - 1, hi: apGeo + 1 } } },
      downstream
    }) as unknown as ComparedRun
  const ds = (mean: number) => [
    { task: 'topic_cls', domain: 'news&co', metric: 'accuracy', checkpointId: null, checkpointStep: null, finetuneSteps: null, mean, std: 0.01, seeds: 3 }
  ]
  const c = { stream: ['a', 'b'], runs: [run(1, 'elle', 100, ds(0.8)), run(2, 'naive_ft', 120, ds(0.7))] }
  it('AP table: booktabs rules, escaped names, best geometric AP in bold', () => {
    const t = latexApTable(c)
    for (const rule of ['\\toprule', '\\midrule', '\\bottomrule']) expect(t).toContain(rule)
    expect(t).toContain('naive\\_ft')
    expect(t).toContain('exp\\_1 100\\%')
    expect(t).toContain('\\textbf{100.0 {\\small [99.0, 101.0]}}')
    expect(t).not.toMatch(/[^\\]_/)
  })
  it('downstream table: one column per run, best per task in bold', () => {
    const t = latexDownstreamTable(c)
    for (const rule of ['\\toprule', '\\midrule', '\\bottomrule']) expect(t).toContain(rule)
    expect(t).toContain('topic\\_cls & news\\&co & accuracy & \\textbf{0.800 $\\pm$ 0.010} & 0.700 $\\pm$ 0.010 \\\\')
    expect(t).toContain('\\#2 naive\\_ft')
  })
})
