// The offline KQL evaluator (src/lib/kql) against the documented semantics of each operator and
// function it implements — the examples are those of the Kusto reference pages cited in evaluate.ts —
// and its refusal of everything else.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { compileTransform, KqlEvaluationError } from '../../src/lib/kql/evaluate.js';
import { withTransformParameters } from '../../src/lib/kql/parameters.js';
import { re2ToJavaScript, UnsupportedRegexError } from '../../src/lib/kql/re2.js';
import { KqlSyntaxError } from '../../src/lib/kql/syntax.js';

const input = [
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'RawData', type: 'string' },
  { name: 'N', type: 'long' },
] as const;

/** Evaluates `expr` on one record: `source | project Out = <expr>`. */
function value(expr: string, record: Record<string, unknown> = {}, lets = ''): unknown {
  const transform = compileTransform(`${lets}source | project Out = ${expr}`, { inputColumns: input });
  return transform.apply({ TimeGenerated: '2026-01-01T00:00:00Z', RawData: '', N: null, ...record })?.Out;
}

describe('KQL evaluator: documented semantics', () => {
  it('substring(): the reference examples', () => {
    // https://learn.microsoft.com/kusto/query/substring-function
    assert.equal(value("substring('123456', 1)"), '23456');
    assert.equal(value("substring('123456', 2, 2)"), '34');
    assert.equal(value("substring('ABCD', 0, 2)"), 'AB');
    assert.equal(value("substring('123456', -2, 2)"), '56');
    assert.equal(value("substring('abc', 5)"), '');
  });

  it('indexof(): zero-based, -1 when absent (two-argument form)', () => {
    // https://learn.microsoft.com/kusto/query/indexof-function: indexof("abcdefg","cde") == 2
    assert.equal(value("indexof('abcdefg', 'cde')"), 2);
    assert.equal(value("indexof('abcdefg', 'xyz')"), -1);
  });

  it('strlen(), substring() and indexof() count Unicode characters, not UTF-16 units', () => {
    assert.equal(value("strlen('a😀b')"), 3);
    assert.equal(value("substring('a😀b', 2)"), 'b');
    assert.equal(value("indexof('a😀b', 'b')"), 2);
  });

  it('extract_all(): the reference examples, null when nothing matches', () => {
    // https://learn.microsoft.com/kusto/query/extract-all-function
    const id = '82b8be2d-dfa7-4bd1-8f63-24ad26d31449';
    assert.deepEqual(value(`extract_all(@"([\\da-f]{2})", '${id}')`), [
      '82',
      'b8',
      'be',
      '2d',
      'df',
      'a7',
      '4b',
      'd1',
      '8f',
      '63',
      '24',
      'ad',
      '26',
      'd3',
      '14',
      '49',
    ]);
    assert.deepEqual(value(`extract_all(@"(\\w)(\\w+)(\\w)", '${id}')`), [
      ['8', '2b8be2', 'd'],
      ['d', 'fa', '7'],
      ['4', 'bd', '1'],
      ['8', 'f6', '3'],
      ['2', '4ad26d3144', '9'],
    ]);
    assert.deepEqual(value(`extract_all(@"(\\d+)", 'a set of numbers: 123, 567 and 789')`), [
      '123',
      '567',
      '789',
    ]);
    assert.equal(value("extract_all(@'(\\d+)', 'no digits')"), null);
  });

  it('extract_all(): a group that took no part in the match is empty, and [i] indexes the result', () => {
    assert.deepEqual(value("extract_all(@'(a)(b)?', 'a')"), [['a', '']]);
    assert.equal(value("tostring(extract_all(@'(a)(b)', 'ab')[0][1])"), 'b');
    assert.equal(
      value("tostring(extract_all(@'(a)(b)', 'zz')[0][1])"),
      '',
      'null indexes to null, tostring ""',
    );
    assert.equal(value("isnull(extract_all(@'(a)(b)', 'zz')[0])"), true);
  });

  it('RE2 classes: \\s is [\\t\\n\\f\\r ] only (no \\v, no no-break space); . is anything but \\n', () => {
    // https://github.com/google/re2/wiki/Syntax: \s whitespace (== [\t\n\f\r ])
    assert.equal(value("'a\u000bb' matches regex @'a\\sb'"), false);
    assert.equal(value("'a\u00a0b' matches regex @'a\\sb'"), false);
    assert.equal(value("'a\\tb' matches regex @'a\\sb'"), true);
    assert.equal(value("'a\u00a0b' matches regex @'^a\\Sb$'"), true);
    assert.equal(value("'a\\rb' matches regex @'^a.b$'"), true, 'RE2 . matches \\r (JavaScript . does not)');
    assert.equal(value("'a\\nb' matches regex @'^a.b$'"), false);
  });

  it('toint()/tolong(): the number, or null for text that is not one', () => {
    // https://learn.microsoft.com/kusto/query/toint-function: toint("123") == 123
    assert.equal(value("toint('123')"), 123);
    assert.equal(value("toint('-7')"), -7);
    assert.equal(value("toint('')"), null);
    assert.equal(value("toint('abc')"), null);
    assert.equal(value("toint('3000000000')"), null, 'outside int');
    assert.equal(value("tolong('3000000000')"), 3_000_000_000);
  });

  it('tostring(): strings as they are, numbers as text, null as ""', () => {
    assert.equal(value('tostring(N)'), '');
    assert.equal(value('tostring(N)', { N: 42 }), '42');
    assert.equal(value("tostring(extract_all(@'(\\d+)', 'x1y22')[1])"), '22');
  });

  it('isempty()/isnotempty(), isnull()/isnotnull()', () => {
    // https://learn.microsoft.com/kusto/query/isempty-function: isempty("") and isempty(null) are true
    assert.equal(value("isempty('')"), true);
    assert.equal(value('isempty(N)'), true);
    assert.equal(value("isnotempty('a')"), true);
    assert.equal(value('isnull(N)'), true);
    assert.equal(value('isnotnull(N)', { N: 0 }), true);
  });

  it('iif() takes else on a null condition; case() the first true predicate, else its last argument', () => {
    assert.equal(value("iif(N > 1, 'big', 'small')", { N: 5 }), 'big');
    assert.equal(value("iif(N > 1, 'big', 'small')"), 'small', 'null > 1 is null: else');
    assert.equal(value("case(N < 0, 'neg', N == 0, 'zero', 'pos')", { N: 0 }), 'zero');
    assert.equal(value("case(N < 0, 'neg', N == 0, 'zero', 'pos')", { N: 9 }), 'pos');
  });

  it('and/or/not(): three-valued logic with null', () => {
    // https://learn.microsoft.com/kusto/query/logical-operators
    assert.equal(value('N == 1 and false'), false);
    assert.equal(value('N == 1 and true'), null);
    assert.equal(value('N == 1 or true'), true);
    assert.equal(value('N == 1 or false'), null);
    assert.equal(value('not(N == 1)'), null);
    assert.equal(value('not(true)'), false);
  });

  it('string comparison: == is case-sensitive; contains and startswith are not', () => {
    // https://learn.microsoft.com/kusto/query/datatypes-string-operators
    assert.equal(value("'TCP_DENIED' == 'tcp_denied'"), false);
    assert.equal(value("'TCP_DENIED' contains 'denied'"), true);
    assert.equal(value("'[2001:db8::1]' startswith '['"), true);
    assert.equal(value("'Abc' startswith 'aB'"), true);
    assert.equal(value("'a' != 'b'"), true);
  });

  it('datetime and timespan arithmetic; make_datetime() and its null for an impossible date', () => {
    // https://learn.microsoft.com/kusto/query/datetime-timespan-arithmetic
    assert.equal(value('datetime(1970-01-01) + 1700000000 * 1s + 123 * 1ms'), '2023-11-14T22:13:20.123Z');
    assert.equal(value('datetime(2026-01-01) - 2 * 1h'), '2025-12-31T22:00:00.000Z');
    assert.equal(value('TimeGenerated + 90 * 1m'), '2026-01-01T01:30:00.000Z');
    // https://learn.microsoft.com/kusto/query/make-datetime-function
    assert.equal(value('make_datetime(2017, 10, 1, 12, 10, 0)'), '2017-10-01T12:10:00.000Z');
    assert.equal(value('make_datetime(2017, 2, 30, 0, 0, 0)'), null);
    assert.equal(value('make_datetime(2017, 0, 1, 0, 0, 0)'), null);
  });

  it('strcat(), tolower(), toupper(); let binds a literal', () => {
    assert.equal(value("strcat('a', 1, 'b')"), 'a1b');
    assert.equal(value("tolower('HeLLo')"), 'hello');
    assert.equal(value("toupper('http')"), 'HTTP');
    assert.equal(value("iif(flag, 'yes', 'no')", {}, 'let flag = true;\n'), 'yes');
  });

  it('extend sees what an earlier assignment of the same extend defined; project reads its input', () => {
    const transform = compileTransform(
      "source | extend A = 'x', B = strcat(A, 'y') | extend A = 'z' | project A, B, C = strcat(A, B)",
      { inputColumns: input },
    );
    assert.deepEqual(transform.apply({ TimeGenerated: '2026-01-01T00:00:00Z', RawData: '' }), {
      A: 'z',
      B: 'xy',
      C: 'zxy',
    });
    assert.deepEqual(transform.outputColumns, ['A', 'B', 'C']);
  });

  it('datetimes are written as toISOString() writes them, whatever the milliseconds and the year', () => {
    for (const ms of [
      0, 1, 9, 10, 99, 100, 999, 1000, 1_700_000_000_001, 1_700_000_000_999, -1, -999, -1001,
      -62_167_219_200_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001,
    ])
      assert.equal(
        value(`datetime(1970-01-01) + N * 1ms`, { N: ms }),
        new Date(ms).toISOString(),
        String(ms),
      );
  });

  it('select(): the chosen columns as apply() has them; what none of them needs is not evaluated', () => {
    const transform = compileTransform(
      "source | extend A = strcat(RawData, '!'), Bad = RawData < 'b' | project A, Bad, Len = strlen(A)",
      { inputColumns: input },
    );
    const record = { TimeGenerated: '2026-01-01T00:00:00Z', RawData: 'a' };
    assert.throws(() => transform.apply(record), KqlEvaluationError);
    const selected = transform.select(['Len', 'A']);
    assert.deepEqual(selected.outputColumns, ['Len', 'A']);
    assert.deepEqual(selected.apply(record), { Len: 2, A: 'a!' });
    assert.throws(() => transform.select(['Nope']), /not output columns: Nope/);
  });

  it('strings: escapes in quoted literals, doubled quotes in verbatim ones', () => {
    assert.equal(value("'a\\\\b'"), 'a\\b');
    assert.equal(value("@'it''s'"), "it's");
    assert.equal(value('"say \\"hi\\""'), 'say "hi"');
  });
});

describe('KQL evaluator: anything else is an error when the transform is compiled', () => {
  const refused: readonly [string, RegExp][] = [
    ["source | where RawData != ''", /unsupported tabular operator 'where'/],
    ['source | summarize count()', /unsupported tabular operator 'summarize'/],
    [
      "source | project Out = replace_string(RawData, 'a', 'b')",
      /function replace_string\(\) is not supported/,
    ],
    ['source | project Out = parse_url(RawData)', /function parse_url\(\) is not supported/],
    ["source | project Out = RawData has 'x'", /unsupported operator 'has'/],
    ['source | project Out = N / 2', /unsupported character "\/"/],
    ['source | project Out = 1.5', /real literals are not supported/],
    ['source | project Out = Missing', /'Missing' is not a column/],
    ["source | project Out = extract_all(@'(a)', dynamic([1]), RawData)", /unexpected '\['/],
    ["source | project Out = extract_all(@'(a)', RawData, RawData)", /two arguments/],
    ['source | project Out = extract_all(RawData, RawData)', /string literal regex/],
    ["source | project Out = indexof(RawData, 'a', 1)", /indexof\(\) takes 2 arguments/],
    ['T | project Out = 1', /a transform reads 'source'/],
  ];
  for (const [text, message] of refused) {
    it(text, () => {
      assert.throws(
        () => compileTransform(text, { inputColumns: input }),
        (error: unknown) =>
          (error instanceof KqlEvaluationError || error instanceof KqlSyntaxError) &&
          message.test(error.message),
      );
    });
  }

  it('regexes outside the supported RE2 subset', () => {
    for (const pattern of ['(?<name>a)', '(?=a)', '(?i)a', '\\1', '\\p{L}', '[[:alpha:]]'])
      assert.throws(() => re2ToJavaScript(pattern), UnsupportedRegexError, pattern);
  });

  it('operations on values of the wrong type fail the record loudly', () => {
    const transform = compileTransform("source | project Out = RawData < 'b'", { inputColumns: input });
    assert.throws(
      () => transform.apply({ TimeGenerated: '2026-01-01T00:00:00Z', RawData: 'a' }),
      KqlEvaluationError,
    );
  });
});

describe('transform parameters: the replacement Bicep makes', () => {
  const text = 'let keepQuery = false;\nsource | project Out = keepQuery';
  const parameters = [{ name: 'keepQuery', setting: 'PROXY_KEEP_QUERY', default: 'false' }];

  it('replaces the let line with the setting, keeps the default when unset', () => {
    assert.equal(
      withTransformParameters(text, parameters, () => 'TRUE'),
      'let keepQuery = true;\nsource | project Out = keepQuery',
    );
    assert.equal(
      withTransformParameters(text, parameters, () => undefined),
      text,
    );
    assert.equal(
      withTransformParameters(text, parameters, () => ' '),
      text,
    );
  });

  it('refuses a value of the wrong kind, and a transform without the line', () => {
    assert.throws(
      () => withTransformParameters(text, parameters, () => 'yes'),
      /PROXY_KEEP_QUERY is malformed/,
    );
    assert.throws(() => withTransformParameters('source', parameters, () => undefined), /exactly once/);
  });
});
