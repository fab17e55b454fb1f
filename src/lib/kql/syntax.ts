// The syntax of the KQL subset that ingestion-time transformations of this project use, and nothing
// more: `let NAME = <literal>;` statements, then `source | extend … | project …`. Anything else — an
// operator, a function, a literal form — is an error naming what is not supported, so a transform
// cannot quietly mean something else here than in Azure Monitor.
//
// Grammar (KQL's precedence: or < and < comparisons < + - < * < unary < postfix [ ]):
//   query     := (let IDENT = literal ;)* source (| extend assign, … | project item, …)*
//   assign    := IDENT = expr           item := IDENT (= expr)?
//   expr      := and (or and)*          and  := cmp (and cmp)*
//   cmp       := add ((== | != | < | > | >= | contains | startswith | matches regex) add)?
//   add       := mul ((+ | -) mul)*     mul  := unary (* unary)*
//   unary     := - unary | postfix      postfix := primary ([ expr ])*
//   primary   := literal | IDENT ( args ) | IDENT | ( expr )
//   literal   := 'string' | "string" | @'verbatim' | @"verbatim" | integer | true | false
//              | integer(d|h|m|s|ms) | datetime(yyyy-MM-dd[THH:mm:ss[.fff]][Z])
// https://learn.microsoft.com/kusto/query/ (operators, string literals, timespan and datetime literals).

export class KqlSyntaxError extends Error {
  override readonly name = 'KqlSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at offset ${offset})`);
  }
}

type TokenKind = 'ident' | 'string' | 'int' | 'timespan' | 'datetime' | 'punct' | 'end';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** Strings: the decoded value; datetime: the literal's text inside the parentheses. */
  readonly value?: string;
  /** Timespan literals: milliseconds; integers: the value. */
  readonly number?: number;
  readonly offset: number;
}

const timespanUnits: Readonly<Record<string, number>> = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};

const punctuation = ['==', '!=', '>=', '<', '>', '|', ',', '(', ')', '[', ']', ';', '=', '+', '-', '*'];

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i += 1;
      continue;
    }
    const start = i;
    if (c === '@' && (text[i + 1] === "'" || text[i + 1] === '"')) {
      // Verbatim string: no escapes, the quote doubled stands for itself.
      const quote = text[i + 1] ?? '';
      let value = '';
      i += 2;
      for (;;) {
        if (i >= text.length) throw new KqlSyntaxError('unterminated verbatim string', start);
        if (text[i] === quote) {
          if (text[i + 1] === quote) {
            value += quote;
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += text[i];
        i += 1;
      }
      tokens.push({ kind: 'string', text: text.slice(start, i), value, offset: start });
      continue;
    }
    if (c === "'" || c === '"') {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length || text[i] === '\n') throw new KqlSyntaxError('unterminated string', start);
        const ch = text[i] ?? '';
        if (ch === c) {
          i += 1;
          break;
        }
        if (ch === '\\') {
          const next = text[i + 1] ?? '';
          const escapes: Record<string, string> = {
            '\\': '\\',
            "'": "'",
            '"': '"',
            n: '\n',
            t: '\t',
            r: '\r',
          };
          const decoded = escapes[next];
          if (decoded === undefined) throw new KqlSyntaxError(`unsupported string escape \\${next}`, i);
          value += decoded;
          i += 2;
          continue;
        }
        value += ch;
        i += 1;
      }
      tokens.push({ kind: 'string', text: text.slice(start, i), value, offset: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (/[0-9]/.test(text[i] ?? '')) i += 1;
      const digits = text.slice(start, i);
      if (text[i] === '.' || text[i] === 'e' || text[i] === 'E')
        throw new KqlSyntaxError(`real literals are not supported (${digits}${text[i] ?? ''}…)`, start);
      const unit = /^(ms|d|h|m|s)(?![A-Za-z0-9_])/.exec(text.slice(i))?.[1];
      if (unit !== undefined) {
        i += unit.length;
        tokens.push({
          kind: 'timespan',
          text: text.slice(start, i),
          number: Number(digits) * (timespanUnits[unit] ?? 0),
          offset: start,
        });
      } else {
        if (/[A-Za-z_]/.test(text[i] ?? ''))
          throw new KqlSyntaxError(`unsupported literal ${digits}${text[i] ?? ''}…`, start);
        tokens.push({ kind: 'int', text: digits, number: Number(digits), offset: start });
      }
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (/[A-Za-z0-9_]/.test(text[i] ?? '')) i += 1;
      const word = text.slice(start, i);
      if (word === 'datetime' && text[i] === '(') {
        const close = text.indexOf(')', i);
        if (close < 0) throw new KqlSyntaxError('unterminated datetime literal', start);
        const inner = text.slice(i + 1, close).trim();
        i = close + 1;
        tokens.push({ kind: 'datetime', text: text.slice(start, i), value: inner, offset: start });
        continue;
      }
      tokens.push({ kind: 'ident', text: word, offset: start });
      continue;
    }
    const punct = punctuation.find((p) => text.startsWith(p, i));
    if (punct === undefined) throw new KqlSyntaxError(`unsupported character ${JSON.stringify(c)}`, start);
    i += punct.length;
    tokens.push({ kind: 'punct', text: punct, offset: start });
  }
  tokens.push({ kind: 'end', text: '', offset: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------------
// The syntax tree.
// ---------------------------------------------------------------------------------------------------

export type Literal =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'long'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'timespan'; readonly ms: number }
  | { readonly type: 'datetime'; readonly ms: number };

export type BinaryOperator =
  | 'or'
  | 'and'
  | '=='
  | '!='
  | '<'
  | '>'
  | '>='
  | 'contains'
  | 'startswith'
  | 'matches regex'
  | '+'
  | '-'
  | '*';

export type Expr =
  | { readonly kind: 'literal'; readonly literal: Literal; readonly offset: number }
  | { readonly kind: 'name'; readonly name: string; readonly offset: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly offset: number }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOperator;
      readonly left: Expr;
      readonly right: Expr;
      readonly offset: number;
    }
  | { readonly kind: 'negate'; readonly operand: Expr; readonly offset: number }
  | { readonly kind: 'index'; readonly target: Expr; readonly index: Expr; readonly offset: number };

export interface Assignment {
  readonly name: string;
  readonly expr: Expr;
}

export type Operator =
  | { readonly kind: 'extend'; readonly assignments: readonly Assignment[] }
  | { readonly kind: 'project'; readonly assignments: readonly Assignment[] };

export interface Query {
  readonly lets: readonly { readonly name: string; readonly value: Literal }[];
  readonly operators: readonly Operator[];
}

/** A datetime literal's text (the part inside `datetime(…)`), as UTC milliseconds. */
export function parseDatetimeLiteral(text: string, offset: number): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?Z?$/.exec(text);
  if (!match) throw new KqlSyntaxError(`unsupported datetime literal datetime(${text})`, offset);
  const [, y, mo, d, h, mi, s, f] = match;
  const ms = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h ?? 0),
    Number(mi ?? 0),
    Number(s ?? 0),
    Number((f ?? '0').padEnd(3, '0')),
  );
  const check = new Date(ms);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d))
    throw new KqlSyntaxError(`invalid date in datetime(${text})`, offset);
  return ms;
}

class Parser {
  private position = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.position + ahead, this.tokens.length - 1)] as Token;
  }
  private next(): Token {
    const token = this.peek();
    this.position += 1;
    return token;
  }
  private isPunct(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'punct' && token.text === text;
  }
  private isWord(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'ident' && token.text === text;
  }
  private expectPunct(text: string): Token {
    const token = this.next();
    if (token.kind !== 'punct' || token.text !== text)
      throw new KqlSyntaxError(`expected '${text}', found '${token.text}'`, token.offset);
    return token;
  }
  private expectIdent(): Token {
    const token = this.next();
    if (token.kind !== 'ident')
      throw new KqlSyntaxError(`expected a name, found '${token.text}'`, token.offset);
    return token;
  }

  query(): Query {
    const lets: { name: string; value: Literal }[] = [];
    while (this.isWord('let')) {
      this.next();
      const name = this.expectIdent().text;
      this.expectPunct('=');
      const value = this.literalOnly();
      this.expectPunct(';');
      lets.push({ name, value });
    }
    const source = this.next();
    if (source.kind !== 'ident' || source.text !== 'source')
      throw new KqlSyntaxError(`a transform reads 'source', found '${source.text}'`, source.offset);
    const operators: Operator[] = [];
    while (this.isPunct('|')) {
      this.next();
      const word = this.expectIdent();
      if (word.text !== 'extend' && word.text !== 'project')
        throw new KqlSyntaxError(`unsupported tabular operator '${word.text}'`, word.offset);
      const assignments: Assignment[] = [];
      do {
        if (assignments.length > 0) this.next();
        const name = this.expectIdent();
        if (this.isPunct('=')) {
          this.next();
          assignments.push({ name: name.text, expr: this.expr() });
        } else if (word.text === 'project') {
          assignments.push({ name: name.text, expr: { kind: 'name', name: name.text, offset: name.offset } });
        } else {
          throw new KqlSyntaxError(`extend needs NAME = expression`, name.offset);
        }
      } while (this.isPunct(','));
      operators.push({ kind: word.text, assignments });
    }
    const end = this.next();
    if (end.kind !== 'end') throw new KqlSyntaxError(`unexpected '${end.text}'`, end.offset);
    return { lets, operators };
  }

  private literalOnly(): Literal {
    const token = this.peek();
    const negative = this.isPunct('-');
    if (negative) this.next();
    const expr = this.primary();
    if (expr.kind !== 'literal')
      throw new KqlSyntaxError('a let statement binds a literal here', token.offset);
    if (negative) {
      if (expr.literal.type !== 'long')
        throw new KqlSyntaxError('only integers may be negated', token.offset);
      return { type: 'long', value: -expr.literal.value };
    }
    return expr.literal;
  }

  private expr(): Expr {
    let left = this.and();
    while (this.isWord('or')) {
      const op = this.next();
      left = { kind: 'binary', op: 'or', left, right: this.and(), offset: op.offset };
    }
    return left;
  }

  private and(): Expr {
    let left = this.comparison();
    while (this.isWord('and')) {
      const op = this.next();
      left = { kind: 'binary', op: 'and', left, right: this.comparison(), offset: op.offset };
    }
    return left;
  }

  private comparison(): Expr {
    const left = this.additive();
    const token = this.peek();
    let op: BinaryOperator | undefined;
    if (token.kind === 'punct' && (['==', '!=', '<', '>', '>='] as const).some((p) => p === token.text)) {
      op = token.text as BinaryOperator;
      this.next();
    } else if (this.isWord('contains') || this.isWord('startswith')) {
      op = token.text as BinaryOperator;
      this.next();
    } else if (this.isWord('matches') && this.isWord('regex', 1)) {
      op = 'matches regex';
      this.next();
      this.next();
    } else if (
      token.kind === 'ident' &&
      /^!?(has|has_cs|in|contains_cs|startswith_cs|endswith|endswith_cs|!contains|!startswith)$/.test(
        token.text,
      )
    ) {
      throw new KqlSyntaxError(`unsupported operator '${token.text}'`, token.offset);
    } else if (token.kind === 'punct' && token.text === '=') {
      throw new KqlSyntaxError(`'=' is an assignment; compare with '=='`, token.offset);
    }
    if (op === undefined) return left;
    const right = this.additive();
    return { kind: 'binary', op, left, right, offset: token.offset };
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next();
      left = {
        kind: 'binary',
        op: op.text as '+' | '-',
        left,
        right: this.multiplicative(),
        offset: op.offset,
      };
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isPunct('*')) {
      const op = this.next();
      left = { kind: 'binary', op: '*', left, right: this.unary(), offset: op.offset };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isPunct('-')) {
      const op = this.next();
      return { kind: 'negate', operand: this.unary(), offset: op.offset };
    }
    let expr = this.primary();
    while (this.isPunct('[')) {
      const open = this.next();
      const index = this.expr();
      this.expectPunct(']');
      expr = { kind: 'index', target: expr, index, offset: open.offset };
    }
    return expr;
  }

  private primary(): Expr {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return {
          kind: 'literal',
          literal: { type: 'string', value: token.value ?? '' },
          offset: token.offset,
        };
      case 'int':
        return { kind: 'literal', literal: { type: 'long', value: token.number ?? 0 }, offset: token.offset };
      case 'timespan':
        return {
          kind: 'literal',
          literal: { type: 'timespan', ms: token.number ?? 0 },
          offset: token.offset,
        };
      case 'datetime':
        return {
          kind: 'literal',
          literal: { type: 'datetime', ms: parseDatetimeLiteral(token.value ?? '', token.offset) },
          offset: token.offset,
        };
      case 'ident': {
        if (token.text === 'true' || token.text === 'false')
          return {
            kind: 'literal',
            literal: { type: 'bool', value: token.text === 'true' },
            offset: token.offset,
          };
        if (this.isPunct('(')) {
          this.next();
          const args: Expr[] = [];
          if (!this.isPunct(')')) {
            args.push(this.expr());
            while (this.isPunct(',')) {
              this.next();
              args.push(this.expr());
            }
          }
          this.expectPunct(')');
          return { kind: 'call', name: token.text, args, offset: token.offset };
        }
        return { kind: 'name', name: token.text, offset: token.offset };
      }
      case 'punct':
        if (token.text === '(') {
          const inner = this.expr();
          this.expectPunct(')');
          return inner;
        }
        throw new KqlSyntaxError(`unexpected '${token.text}'`, token.offset);
      case 'end':
        throw new KqlSyntaxError('unexpected end of the query', token.offset);
    }
  }
}

/** Parses a transform of the supported subset; throws KqlSyntaxError naming what is not supported. */
export function parseTransform(text: string): Query {
  return new Parser(tokenize(text)).query();
}
