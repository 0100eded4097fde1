// Command-line parsing shared by every `elle` command: strict flags, one-line errors, --help.
import { parseArgs } from 'node:util'

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string; description: string; default?: string | boolean }>

export interface Command {
  name: string
  summary: string
  usage: string
  flags: FlagSpec
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }): Promise<number>
}

export function parseCommandArgs(command: Command, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } }
  for (const [name, spec] of Object.entries(command.flags)) options[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}) }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    return { values: values as Record<string, string | boolean | undefined>, positionals }
  } catch (error) {
    // node's messages are long and multi-line; keep the first line, which names the flag.
    throw new UsageError((error as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, ''))
  }
}

export function helpText(command: Command): string {
  const lines = [`${command.summary}`, '', `usage: ${command.usage}`, '']
  const flags = Object.entries(command.flags)
  if (flags.length > 0) {
    lines.push('options:')
    for (const [name, spec] of flags) {
      const left = `  ${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ' VALUE' : ''}`
      lines.push(`${left.padEnd(28)}${spec.description}${spec.default !== undefined ? ` (default: ${String(spec.default)})` : ''}`)
    }
  }
  lines.push('  -h, --help'.padEnd(28) + 'show this help')
  return lines.join('\n')
}

export function intFlag(value: string | boolean | undefined, name: string, range: { min: number; max: number }): number | undefined {
  if (value === undefined) return undefined
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new UsageError(`--${name} must be an integer from ${range.min} to ${range.max}, got "${String(value)}"`)
  }
  return n
}

export function stringFlag(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}
