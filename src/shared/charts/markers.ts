// Marker labels that would overlap: a domain start and a growth a few pixels apart draw their (vertical) labels
// on top of each other. Each label gets one of a few slots along its line (top, middle, bottom); a label with no
// free slot within `minGapPx` of its neighbours is hidden. Its line stays, and the tooltip still names it.

/** Where a label sits along its vertical line, by slot (ECharts markLine label positions). */
export const MARKER_LABEL_SLOTS = ['insideEndTop', 'insideMiddleTop', 'insideStartTop'] as const
export type MarkerLabelSlot = (typeof MARKER_LABEL_SLOTS)[number]

/** Lines closer than this many pixels would draw their labels (about 11 px of text across) into each other. */
export const MARKER_LABEL_GAP_PX = 14

/**
 * For markers at pixel positions `px` (any order), the slot of each label (index into the slots), or null to
 * hide it. Left to right, a label takes the first slot whose last label is at least `minGapPx` to its left.
 * Pure and deterministic: the same positions give the same layout in the view, the report and the exports.
 */
export function layoutMarkerLabels(px: readonly number[], minGapPx = MARKER_LABEL_GAP_PX, slots: number = MARKER_LABEL_SLOTS.length): Array<number | null> {
  const order = px.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p || a.i - b.i)
  const last: number[] = Array.from({ length: slots }, () => -Infinity)
  const out: Array<number | null> = px.map(() => null)
  for (const { p, i } of order) {
    if (!Number.isFinite(p)) continue
    const slot = last.findIndex((l) => p - l >= minGapPx)
    if (slot < 0) continue
    last[slot] = p
    out[i] = slot
  }
  return out
}

/** Pixels of data x on a plot `plotWidth` wide showing [min, max] (linear axes: step, tokens, wall time, FLOPs). */
export function xToPx(x: number, min: number, max: number, plotWidth: number): number {
  return max > min ? ((x - min) / (max - min)) * plotWidth : 0
}
