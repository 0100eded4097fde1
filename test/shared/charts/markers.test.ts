// Marker labels closer than a few pixels: staggered along their lines, hidden when no slot is free (the line
// and the tooltip keep them).
import { describe, expect, it } from 'vitest'
import type { LineSeriesOption } from 'echarts'
import { layoutMarkerLabels, MARKER_LABEL_GAP_PX, MARKER_LABEL_SLOTS, xToPx } from '../../../src/shared/charts/markers'
import { curveOption, curveTooltip, lineNames, seriesMeta } from '../../../src/shared/charts/curves'
import type { CurveChartInput } from '../../../src/shared/charts/types'

describe('layoutMarkerLabels', () => {
  it('keeps labels far apart in the first slot, staggers close ones, hides what does not fit', () => {
    expect(layoutMarkerLabels([0, 100, 200])).toEqual([0, 0, 0])
    expect(layoutMarkerLabels([100, 105])).toEqual([0, 1])
    expect(layoutMarkerLabels([100, 105, 108, 110])).toEqual([0, 1, 2, null])
    // the gap is measured from the last label of a slot: a label far enough from it takes the first slot again
    expect(layoutMarkerLabels([100, 105, 100 + MARKER_LABEL_GAP_PX])).toEqual([0, 1, 0])
    expect(layoutMarkerLabels([100, 100 + MARKER_LABEL_GAP_PX - 0.5])).toEqual([0, 1])
    // input order does not matter: left to right
    expect(layoutMarkerLabels([110, 100, 105])).toEqual([2, 0, 1])
    expect(layoutMarkerLabels([10, 12], 1)).toEqual([0, 0])
    expect(layoutMarkerLabels([10, 12], 14, 1)).toEqual([0, null])
    expect(layoutMarkerLabels([Number.NaN, 5])).toEqual([null, 0])
    expect(layoutMarkerLabels([])).toEqual([])
  })

  it('maps data x to pixels on the plot', () => {
    expect(xToPx(50, 0, 100, 548)).toBe(274)
    expect(xToPx(5, 5, 5, 548)).toBe(0)
  })
})

describe('curve markers with close labels', () => {
  const input: CurveChartInput = {
    xAxis: 'step',
    xLabel: 'step',
    yLabel: 'loss',
    logY: false,
    lines: [{ key: 'run:1', label: '#1 elle', color: '#1f77b4', role: 'run', x: [0, 500, 1000], y: [5, 4, 3], points: 3 }],
    markers: [
      { x: 100, kind: 'domain', label: 'fiction' },
      { x: 104, kind: 'growth', label: 'grew', detail: '4 layers' },
      { x: 106, kind: 'domain', label: 'press' },
      { x: 108, kind: 'domain', label: 'learned' },
      { x: 600, kind: 'domain', label: 'hobbies' }
    ]
  }

  it('the option staggers them along the line and hides the fourth; the tooltip still names every marker', () => {
    const o = curveOption(input, { interactive: true, width: 640 })
    const data = (o.series as LineSeriesOption[]).find((s) => s.markLine)!.markLine!.data as Array<{ xAxis: number; label: { show: boolean; position: string } }>
    expect(data.map((d) => [d.xAxis, d.label.show, d.label.position])).toEqual([
      [100, true, MARKER_LABEL_SLOTS[0]],
      [104, true, MARKER_LABEL_SLOTS[1]],
      [106, true, MARKER_LABEL_SLOTS[2]],
      [108, false, MARKER_LABEL_SLOTS[0]],
      [600, true, MARKER_LABEL_SLOTS[0]]
    ])
    const names = lineNames(input.lines)
    const tip = curveTooltip(input, names, seriesMeta(o), [{ seriesIndex: 0, dataIndex: 0, axisValue: 107 }])
    expect(tip).toContain('learned')
    // zoomed in (the range the view asks for), the same markers are far apart: every label in the first slot
    const zoomed = curveOption({ ...input, range: [98, 110] }, { interactive: true, width: 640 })
    const zd = (zoomed.series as LineSeriesOption[]).find((s) => s.markLine)!.markLine!.data as Array<{ label: { show: boolean; position: string } }>
    expect(zd.slice(0, 4).map((d) => [d.label.show, d.label.position])).toEqual(Array.from({ length: 4 }, () => [true, MARKER_LABEL_SLOTS[0]]))
  })
})
