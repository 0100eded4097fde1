// The runs table's filter language: `field op value` conditions joined by `and` / `or` (and binds tighter), `not`,
// parentheses, ops `= != < <= > >= ~` (~: contains). Values are numbers, words or quoted strings; a quoted value is
// always text. `tag = x` asks whether a run has tag x. A bare word or quoted string searches every cell's text.
// Two conditions side by side (`elle seed < 3`) mean `and`. Errors name the problem and its 1-based position.

/** A cell of a flattened row: scalars, or the run's tags. */
export type Cell = string | number | boolean | null | readonly string[]
export type FlatRow = Readonly<Record<string, Cell>>

export const QUERY_OPS = ['=', '!=', '<', '<=', '>', '>=', '~'] as const
export type QueryOp = (typeof QUERY_OPS)[number]

export interface QueryValue {
  text: string
  /** a quoted value is text even when it looks like a number */
  quoted: boolean
}

export type Query =
  | { kind: 'and' | 'or'; left: Query; right: Query }
  | { kind: 'not'; inner: Query }
  | { kind: 'cmp'; field: string; op: QueryOp; value: QueryValue }
  | { kind: 'search'; text: string }
  | { kind: 'all' }

export class QueryError extends Error {
  constructor(
    readonly problem: string,
    /** 1-based character position in the query */
    readonly position: number
  ) {
    super(`${problem} at ${position}`)
    this.name = 'QueryError'
  }
}

type Token = { kind: 'word' | 'string' | 'op' | 'lparen' | 'rparen'; text: string; pos: number }

function tokenize(input: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < input.length) {
    const c = input[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    const pos = i + 1
    if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'lparen' : 'rparen', text: c, pos })
      i++
    } else if (c === '"' || c === "'") {
      let j = i + 1
      let text = ''
      while (j < input.length && input[j] !== c) {
        if (input[j] === '\\' && j + 1 < input.length) j++
        text += input[j]
        j++
      }
      if (j >= input.length) throw new QueryError(`unterminated string (missing ${c})`, pos)
      tokens.push({ kind: 'string', text, pos })
      i = j + 1
    } else if ('=!<>~'.includes(c)) {
      const two = input.slice(i, i + 2)
      const op = ['!=', '<=', '>=', '=='].includes(two) ? two : c
      if (op === '!') throw new QueryError('"!" must be followed by "="', pos)
      tokens.push({ kind: 'op', text: op === '==' ? '=' : op, pos })
      i += op.length
    } else {
      let j = i
      while (j < input.length && !/[\s()"'=!<>~]/.test(input[j]!)) j++
      tokens.push({ kind: 'word', text: input.slice(i, j), pos })
      i = j
    }
  }
  return tokens
}

const KEYWORDS = new Set(['and', 'or', 'not'])
const isKeyword = (t: Token | undefined, word: string): boolean => t?.kind === 'word' && t.text.toLowerCase() === word

/** Parse a filter query; an empty one matches every row. Throws QueryError naming the problem and its position. */
export function parseQuery(input: string): Query {
  const tokens = tokenize(input)
  let at = 0
  const end = input.length + 1
  const peek = (): Token | undefined => tokens[at]
  const describe = (t: Token): string => `"${t.text}"`

  function orExpr(): Query {
    let left = andExpr()
    while (isKeyword(peek(), 'or')) {
      const op = tokens[at++]!
      left = { kind: 'or', left, right: operand(op) }
    }
    return left
  }
  function andExpr(): Query {
    let left = unary()
    for (;;) {
      const t = peek()
      if (isKeyword(t, 'and')) {
        at++
        left = { kind: 'and', left, right: operand(t!) }
      } else if (t && t.kind !== 'rparen' && !isKeyword(t, 'or')) {
        left = { kind: 'and', left, right: unary() } // side by side: and
      } else return left
    }
  }
  // what must follow `and` / `or` / `not`
  function operand(after: Token): Query {
    const t = peek()
    if (!t || t.kind === 'rparen' || isKeyword(t, 'and') || isKeyword(t, 'or')) throw new QueryError(`expected a condition after "${after.text}"`, t?.pos ?? end)
    return after.text.toLowerCase() === 'or' ? andExpr() : unary()
  }
  function unary(): Query {
    const t = peek()
    if (isKeyword(t, 'not')) {
      at++
      return { kind: 'not', inner: operand(t!) }
    }
    return primary()
  }
  function primary(): Query {
    const t = peek()
    if (!t) throw new QueryError('expected a condition', end)
    if (t.kind === 'lparen') {
      at++
      if (peek()?.kind === 'rparen') throw new QueryError('empty parentheses', peek()!.pos)
      const inner = orExpr()
      if (peek()?.kind !== 'rparen') throw new QueryError(`unclosed "(" (opened at ${t.pos})`, peek()?.pos ?? end)
      at++
      return inner
    }
    if (t.kind === 'rparen') throw new QueryError('unexpected ")"', t.pos)
    if (t.kind === 'op') throw new QueryError(`expected a field name before ${describe(t)}`, t.pos)
    at++
    const op = peek()
    if (op?.kind === 'op') {
      if (t.kind === 'string') throw new QueryError(`a field name is a word, not a quoted string, before ${describe(op)}`, t.pos)
      at++
      const value = peek()
      if (!value || value.kind === 'lparen' || value.kind === 'rparen' || value.kind === 'op' || (value.kind === 'word' && KEYWORDS.has(value.text.toLowerCase())))
        throw new QueryError(`expected a value after ${describe(op)}`, value?.pos ?? end)
      at++
      return { kind: 'cmp', field: t.text, op: op.text as QueryOp, value: { text: value.text, quoted: value.kind === 'string' } }
    }
    if (t.kind === 'word' && KEYWORDS.has(t.text.toLowerCase())) throw new QueryError(`expected a condition before "${t.text}"`, t.pos)
    return { kind: 'search', text: t.text }
  }

  if (tokens.length === 0) return { kind: 'all' }
  const query = orExpr()
  const rest = peek()
  if (rest) throw new QueryError(rest.kind === 'rparen' ? 'unexpected ")"' : `unexpected ${describe(rest)}`, rest.pos)
  return query
}

export type ParsedQuery = { ok: true; query: Query } | { ok: false; error: { message: string; position: number } }

/** parseQuery without throwing: what the filter box shows inline. */
export function tryParseQuery(input: string): ParsedQuery {
  try {
    return { ok: true, query: parseQuery(input) }
  } catch (e) {
    if (e instanceof QueryError) return { ok: false, error: { message: e.message, position: e.position } }
    throw e
  }
}

/** Short names a query may use for a column: `ap` for `final.ap`, `lr` for `config.training.lr` (when only one config field ends so). */
export function resolveField(row: FlatRow, field: string): string | null {
  const name = field.toLowerCase() === 'tag' ? 'tags' : field
  if (name in row) return name
  for (const prefixed of [`final.${name}`, `config.${name}`]) if (prefixed in row) return prefixed
  const suffix = `.${name}`
  const found = Object.keys(row).filter((k) => k.startsWith('config.') && k.endsWith(suffix))
  return found.length === 1 ? found[0]! : null
}

const asNumber = (v: QueryValue): number | null => {
  if (v.quoted || v.text.trim() === '') return null
  const n = Number(v.text)
  return Number.isFinite(n) ? n : null
}
const lower = (s: string): string => s.toLowerCase()

function compareScalar(cell: Exclude<Cell, readonly string[]>, op: QueryOp, value: QueryValue): boolean {
  if (cell === null) {
    const isNull = value.text === '' || (!value.quoted && lower(value.text) === 'null')
    return op === '=' ? isNull : op === '!=' ? !isNull : false
  }
  const n = asNumber(value)
  if (typeof cell === 'number' && n !== null) {
    switch (op) {
      case '=':
        return cell === n
      case '!=':
        return cell !== n
      case '<':
        return cell < n
      case '<=':
        return cell <= n
      case '>':
        return cell > n
      case '>=':
        return cell >= n
      case '~':
        return String(cell).includes(value.text)
    }
  }
  const a = lower(String(cell))
  const b = lower(value.text)
  switch (op) {
    case '=':
      return a === b
    case '!=':
      return a !== b
    case '~':
      return a.includes(b)
    default: {
      // a number against text, or text against text: ordered as text (ISO dates order so)
      const c = a.localeCompare(b, undefined, { numeric: true })
      return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0
    }
  }
}

function cellText(cell: Cell): string {
  if (cell === null) return ''
  if (Array.isArray(cell)) return cell.join(' ')
  return String(cell)
}

/** Every cell's text, for bare-word search. */
export function rowText(row: FlatRow): string {
  return lower(Object.values(row).map(cellText).join('\n'))
}

export function matches(query: Query, row: FlatRow): boolean {
  switch (query.kind) {
    case 'all':
      return true
    case 'and':
      return matches(query.left, row) && matches(query.right, row)
    case 'or':
      return matches(query.left, row) || matches(query.right, row)
    case 'not':
      return !matches(query.inner, row)
    case 'search':
      return rowText(row).includes(lower(query.text))
    case 'cmp': {
      const key = resolveField(row, query.field)
      const cell: Cell = key === null ? null : row[key]!
      if (Array.isArray(cell)) {
        const tags = (cell as readonly string[]).map(lower)
        const v = lower(query.value.text)
        if (query.op === '=') return tags.includes(v)
        if (query.op === '!=') return !tags.includes(v)
        if (query.op === '~') return tags.some((t) => t.includes(v))
        return false
      }
      return compareScalar(cell as Exclude<Cell, readonly string[]>, query.op, query.value)
    }
  }
}

/** The rows the filter query and the search text keep (a query that does not parse throws QueryError). */
export function filterRows<T>(rows: readonly T[], query: string, search: string, flat: (row: T) => FlatRow): T[] {
  const parsed = parseQuery(query)
  const words = search.trim().toLowerCase().split(/\s+/).filter(Boolean)
  return rows.filter((row) => {
    const f = flat(row)
    if (!matches(parsed, f)) return false
    if (words.length === 0) return true
    const text = rowText(f)
    return words.every((w) => text.includes(w))
  })
}

/** Order of two cells: numbers by value, text naturally (`run2` before `run10`); empty cells last in either direction. */
const isEmpty = (c: Cell): boolean => c === null || c === '' || (Array.isArray(c) && c.length === 0)

export function compareCells(a: Cell, b: Cell): number {
  const empty = isEmpty
  if (empty(a) || empty(b)) return empty(a) === empty(b) ? 0 : empty(a) ? 1 : -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return cellText(a).localeCompare(cellText(b), undefined, { numeric: true, sensitivity: 'base' })
}

/** Sort by one column (stable; ties keep their order); empty cells stay last whichever the direction. */
export function sortRows<T>(rows: readonly T[], column: string, dir: 'asc' | 'desc', flat: (row: T) => FlatRow): T[] {
  const keyed = rows.map((row, i) => ({ row, i, cell: flat(row)[column] ?? null }))
  const sign = dir === 'asc' ? 1 : -1
  keyed.sort((x, y) => {
    const ex = isEmpty(x.cell)
    const ey = isEmpty(y.cell)
    if (ex !== ey) return ex ? 1 : -1
    return sign * compareCells(x.cell, y.cell) || x.i - y.i
  })
  return keyed.map((k) => k.row)
}
