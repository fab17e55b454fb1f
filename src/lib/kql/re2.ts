// Kusto's regular expressions are RE2 (https://learn.microsoft.com/kusto/query/re2). This turns the
// part of RE2 the transforms use into an equivalent JavaScript RegExp (flag `u`: code points, as RE2
// matches UTF-8 code points), and refuses the rest. Where the two dialects differ on the same text,
// the RE2 meaning is spelled out:
//  - `\s` is [\t\n\f\r ] in RE2 (JS adds \v and Unicode spaces); `\S` is its complement;
//  - `.` is any character but \n in RE2 (JS also excludes \r, U+2028, U+2029);
//  - `\d` and `\w` are ASCII in both; `^` and `$` (no multi-line flag) match at the text's ends in both.
// Refused: named groups, flags, look-around and back-references (RE2 has neither), Unicode classes,
// and any escape not listed below.

export class UnsupportedRegexError extends Error {
  override readonly name = 'UnsupportedRegexError';
}

const re2Space = '\\t\\n\\f\\r ';
/** Escapes of a literal character, identical in both dialects. */
const literalEscapes = new Set([
  '.',
  '\\',
  '/',
  '-',
  '[',
  ']',
  '(',
  ')',
  '{',
  '}',
  '?',
  '*',
  '+',
  '|',
  '^',
  '$',
]);

export function re2ToJavaScript(pattern: string): RegExp {
  let out = '';
  let i = 0;
  let groups = 0;
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      i += 2;
      if (next === 'd' || next === 'w' || next === 'D' || next === 'W') out += `\\${next}`;
      else if (next === 's') out += `[${re2Space}]`;
      else if (next === 'S') out += `[^${re2Space}]`;
      else if (next === 't' || next === 'n' || next === 'r' || next === 'f') out += `\\${next}`;
      else if (literalEscapes.has(next)) out += `\\${next}`;
      else throw new UnsupportedRegexError(`regex escape \\${next} is not supported here`);
      continue;
    }
    if (c === '[') {
      const end = classEnd(pattern, i);
      out += translateClass(pattern.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] === '?') {
        if (pattern[i + 2] !== ':')
          throw new UnsupportedRegexError(`regex group ${pattern.slice(i, i + 4)}… is not supported here`);
        out += '(?:';
        i += 3;
        continue;
      }
      groups += 1;
      out += '(';
      i += 1;
      continue;
    }
    if (c === '.') {
      out += '[^\\n]';
      i += 1;
      continue;
    }
    if (c === '{') {
      const close = pattern.indexOf('}', i);
      const body = close < 0 ? '' : pattern.slice(i + 1, close);
      if (!/^\d+(,\d*)?$/.test(body))
        throw new UnsupportedRegexError(`regex repetition {${body}} is not supported`);
      out += `{${body}}`;
      i = close + 1;
      continue;
    }
    out += c;
    i += 1;
  }
  try {
    const regex = new RegExp(out, 'gu');
    Object.defineProperty(regex, 'captureGroups', { value: groups });
    return regex;
  } catch (error) {
    throw new UnsupportedRegexError(`invalid regex ${pattern}: ${(error as Error).message}`);
  }
}

/** The number of capture groups of a pattern translated by re2ToJavaScript. */
export function captureGroupsOf(regex: RegExp): number {
  return (regex as RegExp & { captureGroups?: number }).captureGroups ?? 0;
}

function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '^') i += 1;
  if (pattern[i] === ']') i += 1; // a leading ] is a literal
  while (i < pattern.length) {
    if (pattern[i] === '\\') i += 2;
    else if (pattern[i] === '[')
      throw new UnsupportedRegexError('nested character classes are not supported');
    else if (pattern[i] === ']') return i;
    else i += 1;
  }
  throw new UnsupportedRegexError(`unterminated character class in ${pattern}`);
}

function translateClass(body: string): string {
  let out = '';
  let i = 0;
  if (body.startsWith('^')) {
    out += '^';
    i = 1;
  }
  while (i < body.length) {
    const c = body[i] ?? '';
    if (c === '\\') {
      const next = body[i + 1] ?? '';
      i += 2;
      if (next === 'd' || next === 'w') out += `\\${next}`;
      else if (next === 's') out += re2Space;
      else if (next === 't' || next === 'n' || next === 'r' || next === 'f') out += `\\${next}`;
      else if (literalEscapes.has(next)) out += `\\${next}`;
      else throw new UnsupportedRegexError(`regex class escape \\${next} is not supported here`);
      continue;
    }
    if (c === '[' || c === ']') out += `\\${c}`;
    else out += c;
    i += 1;
  }
  return `[${out}]`;
}
