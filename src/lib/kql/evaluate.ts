// Executes an ingestion-time transformation (a DCR's transformKql) on records, offline: the project's
// one parser definition (the proxy table's transform) is the text Azure Monitor runs, so the tests,
// the ingestion emulator and `import … --dry-run` run that exact text here.
//
// Only the operators and functions the shipped transforms use are implemented (see syntax.ts for the
// grammar); each follows the documented Kusto semantics, cited per function below and tested in
// test/unit/kqlEvaluator.test.ts. Anything else fails when the transform is compiled, not per row.
//
// Values: string (never null, as in Kusto: an absent string is ''), long (a safe integer), bool,
// datetime and timespan (milliseconds), dynamic (a JSON value), and null for the non-string types.
import { captureGroupsOf, re2ToJavaScript } from './re2.js';
import { parseTransform, type Expr, type Literal, type Query } from './syntax.js';

export class KqlEvaluationError extends Error {
  override readonly name = 'KqlEvaluationError';
}

class DateTimeValue {
  constructor(readonly ms: number) {}
}
class TimespanValue {
  constructor(readonly ms: number) {}
}
class DynamicValue {
  constructor(readonly value: unknown) {}
}

type Value = string | number | boolean | DateTimeValue | TimespanValue | DynamicValue | null;

/** Column types of a stream or table (the DCR / Log Analytics type names). */
export type KqlColumnType = 'string' | 'int' | 'long' | 'real' | 'boolean' | 'datetime' | 'dynamic';

export interface CompileOptions {
  /** The input stream's columns: what `source` has. */
  readonly inputColumns: readonly { readonly name: string; readonly type: KqlColumnType }[];
}

/** A record in and out: JSON values as the Logs Ingestion API carries them (datetimes as ISO strings). */
export type KqlRecord = Record<string, unknown>;

export interface CompiledTransform {
  /** The output columns, in the order of the last `project`. */
  readonly outputColumns: readonly string[];
  /** The transform applied to one record; null when the record is filtered out (never, without `where`). */
  apply(record: KqlRecord): KqlRecord | null;
}

/** A record being transformed: one slot per column (input, extended, projected) and let binding. */
type Scope = Value[];
type Compiled = (scope: Scope) => Value;
/** Where each name lives while compiling: its slot, as the operators so far left it. */
type Bindings = ReadonlyMap<string, number>;

/**
 * Compiles a transform of the supported subset. Throws on anything outside it: an unknown operator,
 * function, column or literal form, a non-constant regex, a wrong number of arguments.
 *
 * Every name is resolved to a slot of an array once, here; a record is then one array, filled in
 * operator order (an extend writes new slots, a project new slots that alone stay visible).
 */
export function compileTransform(text: string, options: CompileOptions): CompiledTransform {
  const query: Query = parseTransform(text);
  const template: Value[] = [];
  const bindings = new Map<string, number>();
  const newSlot = (initial: Value = null) => template.push(initial) - 1;
  for (const binding of query.lets) bindings.set(binding.name, newSlot(literalValue(binding.value)));
  const constants = new Map(bindings);
  const inputs = options.inputColumns.map((column) => {
    const slot = newSlot();
    bindings.set(column.name, slot);
    return { name: column.name, type: column.type, slot };
  });
  let columns: string[] = options.inputColumns.map((column) => column.name);
  const steps: { slot: number; run: Compiled }[] = [];
  for (const operator of query.operators) {
    if (operator.kind === 'extend') {
      for (const assignment of operator.assignments) {
        // Within one extend, a later expression sees the columns an earlier one defined.
        const run = compileExpr(assignment.expr, bindings);
        const slot = newSlot();
        steps.push({ slot, run });
        bindings.set(assignment.name, slot);
        if (!columns.includes(assignment.name)) columns.push(assignment.name);
      }
    } else {
      // project: every expression reads the columns as they were before it; only its own stay.
      const names = operator.assignments.map((assignment) => assignment.name);
      const duplicate = names.find((name, index) => names.indexOf(name) !== index);
      if (duplicate !== undefined) throw new KqlEvaluationError(`project names ${duplicate} twice`);
      const projected = operator.assignments.map((assignment) => {
        const run = compileExpr(assignment.expr, bindings);
        const slot = newSlot();
        steps.push({ slot, run });
        return [assignment.name, slot] as const;
      });
      bindings.clear();
      for (const [name, slot] of constants) bindings.set(name, slot);
      for (const [name, slot] of projected) bindings.set(name, slot);
      columns = names;
    }
  }
  const outputColumns = [...columns];
  const outputs = outputColumns.map((name) => ({ name, slot: bindings.get(name) ?? -1 }));
  return {
    outputColumns,
    apply(record) {
      const scope = template.slice();
      for (const input of inputs) scope[input.slot] = fromJson(record[input.name], input.type, input.name);
      for (const step of steps) scope[step.slot] = step.run(scope);
      const out: KqlRecord = {};
      for (const output of outputs) out[output.name] = toJson(scope[output.slot] ?? null, output.name);
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Values in and out.
// ---------------------------------------------------------------------------------------------------

function literalValue(literal: Literal): Value {
  switch (literal.type) {
    case 'string':
    case 'long':
    case 'bool':
      return literal.value;
    case 'timespan':
      return new TimespanValue(literal.ms);
    case 'datetime':
      return new DateTimeValue(literal.ms);
  }
}

function fromJson(value: unknown, type: KqlColumnType, column: string): Value {
  if (type === 'string') {
    if (value === null || value === undefined) return '';
    if (typeof value !== 'string') throw new KqlEvaluationError(`${column}: not a string`);
    return value;
  }
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'datetime': {
      const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(ms))
        throw new KqlEvaluationError(`${column}: not a datetime: ${JSON.stringify(value)}`);
      return new DateTimeValue(ms);
    }
    case 'int':
    case 'long':
      if (!Number.isSafeInteger(value)) throw new KqlEvaluationError(`${column}: not an integer`);
      return value as number;
    case 'boolean':
      if (typeof value !== 'boolean') throw new KqlEvaluationError(`${column}: not a boolean`);
      return value;
    case 'dynamic':
      return new DynamicValue(value);
    case 'real':
      throw new KqlEvaluationError(`${column}: real columns are not supported here`);
  }
}

function toJson(value: Value, column: string): unknown {
  if (value instanceof DateTimeValue) return new Date(value.ms).toISOString();
  if (value instanceof DynamicValue) return value.value ?? null;
  if (value instanceof TimespanValue)
    throw new KqlEvaluationError(`${column}: timespan output columns are not supported here`);
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Expressions.
// ---------------------------------------------------------------------------------------------------

function describe(value: Value): string {
  if (value === null) return 'null';
  if (value instanceof DateTimeValue) return 'datetime';
  if (value instanceof TimespanValue) return 'timespan';
  if (value instanceof DynamicValue) return 'dynamic';
  return typeof value === 'number' ? 'long' : typeof value === 'boolean' ? 'bool' : 'string';
}

function expectString(value: Value, where: string): string {
  if (typeof value !== 'string')
    throw new KqlEvaluationError(`${where}: expected a string, got ${describe(value)}`);
  return value;
}
function expectLong(value: Value, where: string): number | null {
  if (value === null) return null;
  if (typeof value !== 'number')
    throw new KqlEvaluationError(`${where}: expected a long, got ${describe(value)}`);
  return value;
}
function expectBool(value: Value, where: string): boolean | null {
  if (value === null) return null;
  if (typeof value !== 'boolean')
    throw new KqlEvaluationError(`${where}: expected a bool, got ${describe(value)}`);
  return value;
}

function compileExpr(expr: Expr, known: Bindings): Compiled {
  switch (expr.kind) {
    case 'literal': {
      const value = literalValue(expr.literal);
      return () => value;
    }
    case 'name': {
      const slot = known.get(expr.name);
      if (slot === undefined)
        throw new KqlEvaluationError(
          `'${expr.name}' is not a column or a let binding (offset ${expr.offset})`,
        );
      return (scope) => scope[slot] ?? null;
    }
    case 'negate': {
      const operand = compileExpr(expr.operand, known);
      return (scope) => {
        const value = expectLong(operand(scope), 'unary -');
        return value === null ? null : -value;
      };
    }
    case 'index': {
      const target = compileExpr(expr.target, known);
      const index = compileExpr(expr.index, known);
      return (scope) => dynamicIndex(target(scope), index(scope));
    }
    case 'binary':
      return compileBinary(expr.op, compileExpr(expr.left, known), compileExpr(expr.right, known), expr);
    case 'call':
      return compileCall(expr, known);
  }
}

/**
 * `d[i]`: the i-th element of a dynamic array, as dynamic; null when out of range or when d is not
 * an array (https://learn.microsoft.com/kusto/query/scalar-data-types/dynamic#dynamic-object-accessors).
 */
function dynamicIndex(target: Value, index: Value): Value {
  const i = expectLong(index, 'index');
  if (i !== null && i < 0) throw new KqlEvaluationError('negative dynamic indexes are not supported here');
  if (target === null || i === null) return new DynamicValue(null);
  if (!(target instanceof DynamicValue)) throw new KqlEvaluationError(`[ ] on a ${describe(target)}`);
  return new DynamicValue(Array.isArray(target.value) ? (target.value[i] ?? null) : null);
}

function compileBinary(
  op: Exclude<Expr & { kind: 'binary' }, never>['op'],
  left: Compiled,
  right: Compiled,
  expr: Expr & { kind: 'binary' },
): Compiled {
  switch (op) {
    // Three-valued logic: false and null = false, true or null = true, otherwise null propagates
    // (https://learn.microsoft.com/kusto/query/logical-operators).
    case 'and':
      return (scope) => {
        const a = expectBool(left(scope), 'and');
        if (a === false) return false;
        const b = expectBool(right(scope), 'and');
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    case 'or':
      return (scope) => {
        const a = expectBool(left(scope), 'or');
        if (a === true) return true;
        const b = expectBool(right(scope), 'or');
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    case '==':
    case '!=':
    case '<':
    case '>':
    case '>=':
      return (scope) => compare(op, left(scope), right(scope));
    // contains / startswith: case-insensitive (https://learn.microsoft.com/kusto/query/datatypes-string-operators).
    case 'contains':
      return (scope) => {
        const a = expectString(left(scope), 'contains');
        return a.toLowerCase().includes(expectString(right(scope), 'contains').toLowerCase());
      };
    case 'startswith':
      return (scope) => {
        const a = expectString(left(scope), 'startswith');
        return a.toLowerCase().startsWith(expectString(right(scope), 'startswith').toLowerCase());
      };
    case 'matches regex': {
      // The regex must be a constant (a Kusto requirement): compiled once.
      if (expr.right.kind !== 'literal' || expr.right.literal.type !== 'string')
        throw new KqlEvaluationError('matches regex needs a string literal');
      const regex = re2ToJavaScript(expr.right.literal.value);
      return (scope) => {
        const text = expectString(left(scope), 'matches regex');
        regex.lastIndex = 0;
        return regex.test(text);
      };
    }
    case '+':
    case '-':
    case '*':
      return (scope) => arithmetic(op, left(scope), right(scope));
  }
}

function compare(op: '==' | '!=' | '<' | '>' | '>=', a: Value, b: Value): Value {
  if (typeof a === 'string' || typeof b === 'string') {
    // String equality is case-sensitive; a string is never null.
    if (typeof a !== 'string' || typeof b !== 'string' || (op !== '==' && op !== '!='))
      throw new KqlEvaluationError(`${describe(a)} ${op} ${describe(b)} is not supported here`);
    return op === '==' ? a === b : a !== b;
  }
  if (a === null || b === null) return null;
  if (typeof a !== 'number' || typeof b !== 'number')
    throw new KqlEvaluationError(`${describe(a)} ${op} ${describe(b)} is not supported here`);
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/**
 * long ± long, long * long; datetime ± timespan; long * timespan (either order)
 * (https://learn.microsoft.com/kusto/query/datetime-timespan-arithmetic). null propagates.
 */
function arithmetic(op: '+' | '-' | '*', a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number') return op === '+' ? a + b : op === '-' ? a - b : a * b;
  if (op !== '*' && a instanceof DateTimeValue && b instanceof TimespanValue)
    return new DateTimeValue(op === '+' ? a.ms + b.ms : a.ms - b.ms);
  if (op === '*' && typeof a === 'number' && b instanceof TimespanValue) return new TimespanValue(a * b.ms);
  if (op === '*' && a instanceof TimespanValue && typeof b === 'number') return new TimespanValue(a.ms * b);
  throw new KqlEvaluationError(`${describe(a)} ${op} ${describe(b)} is not supported here`);
}

// ---------------------------------------------------------------------------------------------------
// Functions: exactly those the shipped transforms call.
// ---------------------------------------------------------------------------------------------------

type Fn = (args: readonly Compiled[], scope: Scope) => Value;

interface FunctionDefinition {
  readonly arity: readonly number[];
  readonly run: Fn;
}

const hasSurrogates = /[\ud800-\udfff]/;
/** Kusto counts and indexes strings in Unicode characters (code points), JavaScript in UTF-16 units. */
const characters = (text: string): readonly string[] | string =>
  hasSurrogates.test(text) ? Array.from(text) : text;

function strictInteger(text: string, min: number, max: number): number | null {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : null;
}

function toKqlString(value: Value): string {
  if (value === null) return '';
  if (value instanceof DynamicValue) {
    const inner = value.value;
    if (inner === null || inner === undefined) return '';
    return typeof inner === 'string' ? inner : JSON.stringify(inner);
  }
  if (value instanceof DateTimeValue || value instanceof TimespanValue)
    throw new KqlEvaluationError(`tostring(${describe(value)}) is not supported here`);
  return String(value);
}

const one = (args: readonly Compiled[], scope: Scope, index = 0): Value => (args[index] as Compiled)(scope);

const functions: Readonly<Record<string, FunctionDefinition>> = {
  // tostring(): a string; '' for null (https://learn.microsoft.com/kusto/query/tostring-function).
  tostring: { arity: [1], run: (args, scope) => toKqlString(one(args, scope)) },
  // toint() / tolong(): the number, or null when the text is not one
  // (https://learn.microsoft.com/kusto/query/toint-function, …/tolong-function). Here: an optional sign
  // and decimal digits only; outside the type's range is null too.
  toint: {
    arity: [1],
    run: (args, scope) => convertInteger(one(args, scope), -2_147_483_648, 2_147_483_647, 'toint'),
  },
  tolong: {
    arity: [1],
    run: (args, scope) =>
      convertInteger(one(args, scope), Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'tolong'),
  },
  tolower: { arity: [1], run: (args, scope) => expectString(one(args, scope), 'tolower').toLowerCase() },
  toupper: { arity: [1], run: (args, scope) => expectString(one(args, scope), 'toupper').toUpperCase() },
  // strcat(): the arguments concatenated, each as tostring() would (https://learn.microsoft.com/kusto/query/strcat-function).
  strcat: {
    arity: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    run: (args, scope) => args.map((arg) => toKqlString(arg(scope))).join(''),
  },
  // strlen(): the length in Unicode characters (https://learn.microsoft.com/kusto/query/strlen-function).
  strlen: { arity: [1], run: (args, scope) => characters(expectString(one(args, scope), 'strlen')).length },
  // substring(source, start[, length]): from a zero-based start (negative: from the end), to the end or
  // length characters (https://learn.microsoft.com/kusto/query/substring-function).
  substring: {
    arity: [2, 3],
    run: (args, scope) => {
      const text = characters(expectString(one(args, scope), 'substring'));
      let start = expectLong(one(args, scope, 1), 'substring start');
      const length = args.length > 2 ? expectLong(one(args, scope, 2), 'substring length') : undefined;
      if (start === null || length === null) return '';
      if (length !== undefined && length < 0)
        throw new KqlEvaluationError('substring: a negative length is not defined here');
      if (start < 0) start = Math.max(0, text.length + start);
      const end = length === undefined ? text.length : Math.min(text.length, start + length);
      return typeof text === 'string' ? text.slice(start, end) : text.slice(start, end).join('');
    },
  },
  // indexof(source, lookup): zero-based index of the first occurrence, -1 when absent
  // (https://learn.microsoft.com/kusto/query/indexof-function). Only the two-argument form here.
  indexof: {
    arity: [2],
    run: (args, scope) => {
      const text = expectString(one(args, scope), 'indexof');
      const lookup = expectString(one(args, scope, 1), 'indexof');
      const at = text.indexOf(lookup);
      return at < 0 || !hasSurrogates.test(text) ? at : Array.from(text.slice(0, at)).length;
    },
  },
  // isnull()/isnotnull(): a dynamic null counts as null (https://learn.microsoft.com/kusto/query/isnull-function).
  isnull: { arity: [1], run: (args, scope) => isNullValue(one(args, scope)) },
  isnotnull: { arity: [1], run: (args, scope) => !isNullValue(one(args, scope)) },
  // isempty()/isnotempty(): null or '' (https://learn.microsoft.com/kusto/query/isempty-function).
  isempty: { arity: [1], run: (args, scope) => isEmptyValue(one(args, scope)) },
  isnotempty: { arity: [1], run: (args, scope) => !isEmptyValue(one(args, scope)) },
  // not(): logical negation; null stays null (https://learn.microsoft.com/kusto/query/not-function).
  not: {
    arity: [1],
    run: (args, scope) => {
      const value = expectBool(one(args, scope), 'not');
      return value === null ? null : !value;
    },
  },
  // iif(condition, then, else): a null condition takes `else`; only the chosen branch is evaluated
  // (https://learn.microsoft.com/kusto/query/iff-function).
  iif: {
    arity: [3],
    run: (args, scope) =>
      expectBool(one(args, scope), 'iif') === true ? one(args, scope, 1) : one(args, scope, 2),
  },
  // case(predicate1, then1, …, else): the first true predicate's value (https://learn.microsoft.com/kusto/query/case-function).
  case: {
    arity: [3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27],
    run: (args, scope) => {
      for (let i = 0; i + 1 < args.length; i += 2)
        if (expectBool(one(args, scope, i), 'case') === true) return one(args, scope, i + 1);
      return one(args, scope, args.length - 1);
    },
  },
  // make_datetime(year, month, day, hour, minute, second): null when the parts are not a valid date
  // (https://learn.microsoft.com/kusto/query/make-datetime-function). Whole seconds here.
  make_datetime: {
    arity: [6],
    run: (args, scope) => {
      const parts = args.map((_, i) => expectLong(one(args, scope, i), 'make_datetime'));
      if (parts.some((part) => part === null)) return null;
      const [year, month, day, hour, minute, second] = parts as number[];
      if (
        year === undefined ||
        month === undefined ||
        day === undefined ||
        hour === undefined ||
        minute === undefined ||
        second === undefined
      )
        return null;
      if (year < 1 || year > 9999 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59)
        return null;
      if (day < 1 || hour < 0 || minute < 0 || second < 0) return null;
      const ms = Date.UTC(year, month - 1, day, hour, minute, second);
      const check = new Date(ms);
      if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
      return new DateTimeValue(year < 100 ? setFullYear(ms, year) : ms);
    },
  },
};

function setFullYear(ms: number, year: number): number {
  const date = new Date(ms);
  date.setUTCFullYear(year);
  return date.getTime();
}

function convertInteger(value: Value, min: number, max: number, name: string): Value {
  if (value === null) return null;
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= min && value <= max ? value : null;
  if (typeof value === 'string') return strictInteger(value, min, max);
  if (value instanceof DynamicValue) {
    const inner = value.value;
    if (typeof inner === 'number')
      return Number.isInteger(inner) && inner >= min && inner <= max ? inner : null;
    if (typeof inner === 'string') return strictInteger(inner, min, max);
    return null;
  }
  throw new KqlEvaluationError(`${name}(${describe(value)}) is not supported here`);
}

function isNullValue(value: Value): boolean {
  return (
    value === null || (value instanceof DynamicValue && (value.value === null || value.value === undefined))
  );
}

function isEmptyValue(value: Value): boolean {
  if (isNullValue(value)) return true;
  if (value === '') return true;
  return value instanceof DynamicValue && value.value === '';
}

function compileCall(expr: Expr & { kind: 'call' }, known: Bindings): Compiled {
  if (expr.name === 'extract_all') return compileExtractAll(expr, known);
  const definition = functions[expr.name];
  if (definition === undefined)
    throw new KqlEvaluationError(`function ${expr.name}() is not supported here (offset ${expr.offset})`);
  if (!definition.arity.includes(expr.args.length))
    throw new KqlEvaluationError(
      `${expr.name}() takes ${definition.arity.join(' or ')} arguments, not ${expr.args.length}`,
    );
  const args = expr.args.map((arg) => compileExpr(arg, known));
  return (scope) => definition.run(args, scope);
}

/**
 * extract_all(regex, source): every match of the regex in source, as a dynamic array: with one capture
 * group the group of each match, with several an array of the groups per match; null when nothing
 * matches (https://learn.microsoft.com/kusto/query/extract-all-function). The regex is a constant of
 * one to 16 capture groups. A group that took no part in a match is '' (RE2 reports an empty submatch).
 * Only the two-argument form.
 */
function compileExtractAll(expr: Expr & { kind: 'call' }, known: Bindings): Compiled {
  const [pattern, sourceExpr] = expr.args;
  if (expr.args.length !== 2 || pattern === undefined || sourceExpr === undefined)
    throw new KqlEvaluationError('extract_all() is supported with two arguments (regex, source) only');
  if (pattern.kind !== 'literal' || pattern.literal.type !== 'string')
    throw new KqlEvaluationError('extract_all() needs a string literal regex');
  const regex = re2ToJavaScript(pattern.literal.value);
  const groups = captureGroupsOf(regex);
  if (groups < 1 || groups > 16)
    throw new KqlEvaluationError(`extract_all(): ${groups} capture groups (1 to 16)`);
  const source = compileExpr(sourceExpr, known);
  return (scope) => {
    const text = expectString(source(scope), 'extract_all');
    const matches: unknown[] = [];
    regex.lastIndex = 0;
    for (;;) {
      const match = regex.exec(text);
      if (match === null) break;
      const captured = match.slice(1).map((group) => group ?? '');
      matches.push(groups === 1 ? captured[0] : captured);
      if (match[0] === '') regex.lastIndex += 1;
    }
    return new DynamicValue(matches.length === 0 ? null : matches);
  };
}
