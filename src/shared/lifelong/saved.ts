// "Compute saved" as a share of the baseline's total, with its interval (docs/compare.md): the Compare view's
// table and the HTML report print the same text.
import type { ComputeSaved } from '../contract'
import { formatPct } from '../plot'

/** "42.0% [35.1%, 51.3%]", "42.0% [35.1%, not reached]", the share alone without an interval, '–' without a share. */
export function savedShare(f: number | null, ci: { lo: number; hi: number | null } | null | undefined): string {
  if (f === null) return '–'
  return ci ? `${formatPct(f)} [${formatPct(ci.lo)}, ${ci.hi === null ? 'not reached' : formatPct(ci.hi)}]` : formatPct(f)
}

/** One row of the compute-saved table: the FLOPs and wall-time shares ELLE needed, or 'not reached'. */
export function savedRow(s: ComputeSaved): { flops: string; wall: string } {
  return s.reached
    ? { flops: savedShare(s.flopsFraction, s.ci?.flopsFraction), wall: savedShare(s.wallFraction, s.ci?.wallFraction) }
    : { flops: 'not reached', wall: 'not reached' }
}
