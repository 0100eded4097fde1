// Terminal progress for long commands: a redrawn bar with ETA and tokens/s on a terminal,
// plain lines (every 10% and at each validation) when output goes to a file or pipe.
import type { JobProgress, RunProgress } from '../../shared/contract'

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--'
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`
}

function formatRate(tokensPerS: number): string {
  return tokensPerS >= 1000 ? `${(tokensPerS / 1000).toFixed(1)}k tok/s` : `${tokensPerS.toFixed(0)} tok/s`
}

/** One line on stderr redrawn in place on a terminal; messages go above it. */
class StatusLine {
  protected drawn = false

  constructor(
    protected readonly out: NodeJS.WriteStream = process.stderr,
    protected readonly interactive = Boolean(process.stderr.isTTY)
  ) {}

  protected draw(line: string): void {
    this.out.write(`\r\x1b[2K${line.slice(0, (this.out.columns ?? 160) - 1)}`)
    this.drawn = true
  }

  message(text: string): void {
    this.clear()
    this.out.write(`${text}\n`)
  }

  clear(): void {
    if (this.interactive && this.drawn) this.out.write('\r\x1b[2K')
    this.drawn = false
  }
}

export class ProgressReporter extends StatusLine {
  private lastDecile = -1
  private lastValidationStep = -1

  update(p: RunProgress): void {
    const fraction = p.step / p.totalSteps
    const head = `stage ${p.stage + 1}/${p.stages} ${p.phase === 'frw' ? `warm-up on ${p.domain}` : p.domain}`
    const stats = `step ${p.step}/${p.totalSteps} · loss ${p.loss.toFixed(3)} · ${formatRate(p.tokensPerS)}${(p.workers ?? 1) > 1 ? ` (${p.workers} workers)` : ''} · ETA ${formatDuration(p.etaS)}`
    const validation = p.validation && p.validation.step !== this.lastValidationStep ? p.validation : null
    if (this.interactive) {
      const width = 24
      const filled = Math.round(fraction * width)
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled)
      const line = `${head} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${stats}`
      if (validation) {
        this.clear()
        this.out.write(`validation at step ${validation.step}: ${describePpl(validation.ppl)}\n`)
        this.lastValidationStep = validation.step
      }
      this.draw(line)
      return
    }
    const decile = Math.floor(fraction * 10)
    if (validation) {
      this.out.write(`validation at step ${validation.step}: ${describePpl(validation.ppl)}\n`)
      this.lastValidationStep = validation.step
    }
    if (decile !== this.lastDecile) {
      this.lastDecile = decile
      this.out.write(`${head} ${(fraction * 100).toFixed(0)}% ${stats}\n`)
    }
  }
}

export function describePpl(ppl: Record<string, number>): string {
  return Object.entries(ppl)
    .map(([domain, value]) => `${domain} ppl ${value.toFixed(2)}`)
    .join(', ')
}

/** A job's progress (job.progress events): a redrawn line on a terminal; on a pipe, a line per new message or 10%. */
export class JobProgressReporter extends StatusLine {
  private lastLine = ''
  private lastAt = 0
  private lastDecile = -1

  update(p: JobProgress): void {
    const percent = p.fraction === null ? '' : `${(p.fraction * 100).toFixed(0)}% `
    const line = `job ${p.jobId}: ${percent}${p.message}${p.etaS === null ? '' : ` · ETA ${formatDuration(p.etaS)}`}`
    if (this.interactive) {
      this.draw(line)
      return
    }
    // measured progress: a line per tenth; unmeasured (a forgetting matrix): a line per new message
    if (p.fraction !== null) {
      const decile = Math.floor(p.fraction * 10)
      if (decile === this.lastDecile) return
      this.lastDecile = decile
    } else {
      // messages that differ only in their numbers ("seed 1/2: update 7/150") are one kind: a line when the kind changes or every 10 s
      const kind = p.message.replace(/\d+/g, '#')
      const now = Date.now()
      if (kind === this.lastLine && now - this.lastAt < 10_000) return
      this.lastLine = kind
      this.lastAt = now
    }
    this.out.write(`${line}\n`)
  }
}
