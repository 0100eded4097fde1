// One colour per run, the same in every view, report and exported file: chosen by the run's id, not by its
// position in a selection (which changes as runs are picked).
const RUN_PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#ad494a'] as const

export const runColor = (runId: number): string => RUN_PALETTE[(((runId - 1) % RUN_PALETTE.length) + RUN_PALETTE.length) % RUN_PALETTE.length]!

/** A group's colour, stable for its key (experiment, method or sweep group). */
export function groupColor(key: string): string {
  let h = 0
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0
  return RUN_PALETTE[Math.abs(h) % RUN_PALETTE.length]!
}
