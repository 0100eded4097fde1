// Command-line parsing shared by every `elle` command: strict flags, declared positionals and flag
// conflicts, one-line errors, --help. Every problem with the arguments is a UsageError (exit code 2).
import { BACKEND_NAMES, type Method } from '../../shared/contract'

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface FlagInfo {
  type: 'string' | 'boolean'
  short?: string
  description: string
  default?: string | boolean
  /** the accepted values of a string flag */
  choices?: readonly string[]
  /** this flag only means something with that flag (its name) or with the positionals (their name) */
  requires?: string
}

export type FlagSpec = Record<string, FlagInfo>

export interface PositionalSpec {
  /** how usage and errors name them, e.g. CONFIG.json or RUN_ID */
  name: string
  min: number
  max: number
  /** the error when fewer than min are given (default: "missing NAME") */
  missing?: string
}

export interface Command {
  name: string
  summary: string
  /**
   * The contract methods this command calls (its CliApi refuses any other); 'all' for the commands that
   * serve the whole contract to the workbench (`elle serve`, `elle start`)
   */
  methods: readonly Method[] | 'all'
  usage: string
  flags: FlagSpec
  /** absent: the command takes no positional arguments */
  positionals?: PositionalSpec
  /**
   * Groups of inputs that exclude each other: in each group at most one alternative may be used, an
   * alternative being a list of flag names (or the positionals' name). E.g. `elle run` takes a
   * CONFIG.json, a --preset, a --resume or the quick-run flags, never two of them.
   */
  exclusive?: ReadonlyArray<ReadonlyArray<readonly string[]>>
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }): Promise<number>
}

// A token like -5 or -0.5 is a value or a positional (a negative number), never an option: without
// this, `--steps -5` would be refused for the wrong reason ("needs a value") instead of by its range.
const NEGATIVE_NUMBER = /^-\.?\d/

/** --backend, as every command that computes takes it; an unknown name is a usage error before anything runs. */
export const BACKEND_FLAG: FlagInfo = {
  type: 'string',
  description: 'force tensorflow-gpu | webgpu | tensorflow | wasm-native | wasm | cpu (env: ELLE_BACKEND)',
  choices: BACKEND_NAMES
}

const HELP: FlagInfo = { type: 'boolean', short: 'h', description: 'show this help' }

function isOption(token: string): boolean {
  return token.startsWith('-') && token !== '-' && !NEGATIVE_NUMBER.test(token)
}

/** Every name a command's spec refers to exists; a mistake here is the program's, so a plain Error. */
export function checkCommandSpec(command: Command): void {
  const known = (name: string): boolean => Object.hasOwn(command.flags, name) || name === command.positionals?.name
  for (const [name, flag] of Object.entries(command.flags)) {
    if (flag.requires !== undefined && !known(flag.requires)) throw new Error(`elle ${command.name}: --${name} requires unknown input "${flag.requires}"`)
  }
  for (const group of command.exclusive ?? []) {
    for (const name of group.flat()) if (!known(name)) throw new Error(`elle ${command.name}: exclusive group names unknown input "${name}"`)
  }
}

export function parseCommandArgs(command: Command, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const flags: FlagSpec = { ...command.flags, help: HELP }
  const shorts = new Map(Object.entries(flags).flatMap(([name, f]) => (f.short ? [[f.short, name] as const] : [])))
  const values: Record<string, string | boolean | undefined> = {}
  const positionals: string[] = []
  const unknown = (token: string): UsageError => new UsageError(`unknown option ${token} (see "elle ${command.name} --help")`)

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!isOption(token)) {
      positionals.push(token)
      continue
    }
    let name: string | undefined
    let inline: string | undefined
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      name = eq === -1 ? token.slice(2) : token.slice(2, eq)
      inline = eq === -1 ? undefined : token.slice(eq + 1)
      if (!Object.hasOwn(flags, name)) throw unknown(eq === -1 ? token : token.slice(0, eq))
    } else {
      name = shorts.get(token[1]!)
      inline = token.length > 2 ? token.slice(2) : undefined
      if (name === undefined || (flags[name]!.type === 'boolean' && inline !== undefined)) throw unknown(token)
    }
    const shown = token.startsWith('--') ? `--${name}` : `-${token[1]}`
    if (flags[name]!.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value, got "${inline}"`)
      values[name] = true
      continue
    }
    let value = inline
    if (value === undefined) {
      const next = argv[i + 1]
      if (next === undefined || isOption(next)) throw new UsageError(`${shown} needs a value${next === undefined ? '' : ` (for one starting with "-", write ${shown}=VALUE)`}`)
      value = next
      i += 1
    }
    // the same flag twice with different values: which one was meant is a guess, so neither is used
    const previous = values[name]
    if (typeof previous === 'string' && previous !== value) throw new UsageError(`--${name} is given twice ("${previous}" and "${value}")`)
    values[name] = value
  }
  if (values.help) return { values, positionals }

  for (const [name, flag] of Object.entries(command.flags)) {
    const value = values[name]
    if (flag.choices && typeof value === 'string' && !flag.choices.includes(value)) throw new UsageError(`--${name} must be one of ${flag.choices.join(', ')}, got "${value}"`)
  }
  const spec = command.positionals
  const max = spec?.max ?? 0
  if (positionals.length > max) {
    const got = positionals.length === 1 ? `"${positionals[0]}"` : `${positionals.length}${positionals.length <= 4 ? `: ${positionals.map((p) => `"${p}"`).join(' ')}` : ''}`
    const takes = !spec || max === 0 ? 'no positional arguments' : max === 1 ? `${spec.min === 1 ? 'one' : 'at most one'} ${spec.name}` : `at most ${max} ${spec.name}s`
    throw new UsageError(`takes ${takes}, got ${got}`)
  }
  if (spec && positionals.length < spec.min) throw new UsageError(spec.missing ?? `missing ${spec.name}`)

  const present = (input: string): boolean => (input === spec?.name ? positionals.length > 0 : values[input] !== undefined)
  const label = (input: string): string => (input === spec?.name ? input : `--${input}`)
  for (const [name, flag] of Object.entries(command.flags)) {
    if (flag.requires !== undefined && values[name] !== undefined && !present(flag.requires)) throw new UsageError(`--${name} goes with ${label(flag.requires)}`)
  }
  for (const group of command.exclusive ?? []) {
    const used = group.map((alternative) => alternative.find(present)).filter((input): input is string => input !== undefined)
    if (used.length > 1) throw new UsageError(`${label(used[0]!)} cannot be combined with ${label(used[1]!)}`)
  }
  return { values, positionals }
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
