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
//
// Speed (`import squid-log` runs the proxy transform on every line, bench/squidImport.bench.ts): the
// text is compiled once into closures over slots of one array per record, each function call into a
// closure of its own arity, so a record costs no lookups by name and few allocations. Three rewrites
// keep the meaning and save the allocations that dominated: `tostring()` of a dynamic element, of
// `iif()` or of `case()` reads the element as text without wrapping it as dynamic first;
// `extract_all(re, s)[k]` runs the regex only up to the k-th match; a literal's lower case (contains,
// startswith) is computed once.
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
/** A dynamic null: immutable, so one for all. */
const dynamicNull = new DynamicValue(null);

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
  /**
   * The same transform with only these of its output columns (an unknown name is an error): the
   * expressions none of them needs are not evaluated — nor can they fail — so a caller that reads a
   * few columns pays for those alone. Each column's value is the one `apply` gives.
   */
  select(columns: readonly string[]): CompiledTransform;
}

/** A record being transformed: one slot per column (input, extended, projected) and let binding. */
type Scope = Value[];
type Compiled = (scope: Scope) => Value;
/** Where each name lives while compiling: its slot, as the operators so far left it. */
interface Bindings {
  get(name: string): number | undefined;
}
/** A step of a record: the slot it writes, from the slots it reads. */
interface Step {
  readonly slot: number;
  readonly run: Compiled;
  readonly reads: readonly number[];
}

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
  const steps: Step[] = [];
  /** Compiles one assignment into a step of its own slot, noting the slots it reads. */
  const step = (expr: Expr): Step => {
    const reads = new Set<number>();
    const recording: Bindings = {
      get(name) {
        const slot = bindings.get(name);
        if (slot !== undefined) reads.add(slot);
        return slot;
      },
    };
    const run = compileExpr(expr, recording);
    const compiled = { slot: newSlot(), run, reads: [...reads] };
    steps.push(compiled);
    return compiled;
  };
  for (const operator of query.operators) {
    if (operator.kind === 'extend') {
      for (const assignment of operator.assignments) {
        // Within one extend, a later expression sees the columns an earlier one defined.
        bindings.set(assignment.name, step(assignment.expr).slot);
        if (!columns.includes(assignment.name)) columns.push(assignment.name);
      }
    } else {
      // project: every expression reads the columns as they were before it; only its own stay.
      const names = operator.assignments.map((assignment) => assignment.name);
      const duplicate = names.find((name, index) => names.indexOf(name) !== index);
      if (duplicate !== undefined) throw new KqlEvaluationError(`project names ${duplicate} twice`);
      const projected = operator.assignments.map(
        (assignment) => [assignment.name, step(assignment.expr).slot] as const,
      );
      bindings.clear();
      for (const [name, slot] of constants) bindings.set(name, slot);
      for (const [name, slot] of projected) bindings.set(name, slot);
      columns = names;
    }
  }
  const slots = new Map(columns.map((name) => [name, bindings.get(name) ?? -1]));
  const all = columns;
  function transform(outputColumns: readonly string[]): CompiledTransform {
    const outputs = outputColumns.map((name) => ({ name, slot: slots.get(name) ?? -1 }));
    // The steps the outputs need, found backwards: a step's slot is written by it alone.
    const needed = new Set(outputs.map((output) => output.slot));
    const run = steps
      .slice()
      .reverse()
      .filter((candidate) => {
        if (!needed.has(candidate.slot)) return false;
        for (const slot of candidate.reads) needed.add(slot);
        return true;
      })
      .reverse();
    // Values are immutable: an input equal to the previous record's (an import's TimeGenerated, the
    // same for every line) is converted once.
    const last = inputs.map((): { json: unknown; value: Value } => ({ json: undefined, value: null }));
    const shape: KqlRecord = Object.fromEntries(outputColumns.map((name) => [name, null]));
    const times = new TimeTexts();
    return {
      outputColumns,
      apply(record) {
        const scope = template.slice();
        for (let i = 0; i < inputs.length; i += 1) {
          const input = inputs[i] as (typeof inputs)[number];
          const json = record[input.name];
          const memo = last[i] as (typeof last)[number];
          if (json !== memo.json || json === undefined || typeof json === 'object') {
            memo.value = fromJson(json, input.type, input.name);
            memo.json = json;
          }
          scope[input.slot] = memo.value;
        }
        for (const step of run) scope[step.slot] = step.run(scope);
        // A copy of a record that already has every output column: its properties are written in place.
        const out: KqlRecord = { ...shape };
        for (const output of outputs)
          out[output.name] = toJson(scope[output.slot] ?? null, output.name, times);
        return out;
      },
      select(selected) {
        const unknown = selected.filter((name) => !slots.has(name));
        if (unknown.length > 0)
          throw new KqlEvaluationError(`select: not output columns: ${unknown.join(', ')}`);
        return transform([...selected]);
      },
    };
  }
  return transform([...all]);
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

/**
 * toISOString(), remembering the texts of the last two whole seconds: a log's times come in order,
 * so most datetimes of a run fall in a second just written (a proxy row's start and end time, in
 * one second or two) and differ only in their milliseconds.
 */
class TimeTexts {
  private seconds = [Number.NaN, Number.NaN];
  private prefixes = ['', ''];
  private next = 0;
  of(ms: number): string {
    // Whole milliseconds of the years 0 to 9999 only: outside them toISOString() writes six digits
    // and a sign (and Date() drops a fraction of a millisecond).
    if (!(Number.isInteger(ms) && ms >= -62_167_219_200_000 && ms < 253_402_300_800_000))
      return new Date(ms).toISOString();
    const second = Math.floor(ms / 1000) * 1000;
    let prefix: string;
    if (second === this.seconds[0]) prefix = this.prefixes[0] as string;
    else if (second === this.seconds[1]) prefix = this.prefixes[1] as string;
    else {
      prefix = new Date(second).toISOString().slice(0, 20);
      this.seconds[this.next] = second;
      this.prefixes[this.next] = prefix;
      this.next = 1 - this.next;
    }
    const fraction = ms - second;
    return `${prefix}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
  }
}

function toJson(value: Value, column: string, times: TimeTexts): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof DateTimeValue) return times.of(value.ms);
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
      const k = literalIndex(expr.index);
      if (k !== undefined && expr.target.kind === 'call' && expr.target.name === 'extract_all')
        return compileExtractAll(expr.target, known, k);
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
  if (target === null || i === null) return dynamicNull;
  if (!(target instanceof DynamicValue)) throw new KqlEvaluationError(`[ ] on a ${describe(target)}`);
  const element: unknown = Array.isArray(target.value) ? target.value[i] : null;
  return element === null || element === undefined ? dynamicNull : new DynamicValue(element);
}

/** `d[i]` as tostring() has it, without the dynamic in between. */
function dynamicIndexText(target: Value, i: number): string {
  if (target === null) return '';
  if (!(target instanceof DynamicValue)) throw new KqlEvaluationError(`[ ] on a ${describe(target)}`);
  const element: unknown = Array.isArray(target.value) ? target.value[i] : null;
  if (element === null || element === undefined) return '';
  return typeof element === 'string' ? element : JSON.stringify(element);
}

/** A non-negative integer literal index, or undefined (then the index is evaluated per record). */
function literalIndex(expr: Expr): number | undefined {
  return expr.kind === 'literal' && expr.literal.type === 'long' && expr.literal.value >= 0
    ? expr.literal.value
    : undefined;
}

/**
 * tostring(expr) compiled: the text of `d[i]` read directly; tostring() of iif() and case() taken
 * into the branch that is chosen (the same value: those return one of their branches unchanged).
 */
function compileText(expr: Expr, known: Bindings): (scope: Scope) => string {
  if (expr.kind === 'index') {
    const k = literalIndex(expr.index);
    const fused = k !== undefined && expr.target.kind === 'call' && expr.target.name === 'extract_all';
    if (k !== undefined && !fused) {
      const target = compileExpr(expr.target, known);
      return (scope) => dynamicIndexText(target(scope), k);
    }
  }
  if (expr.kind === 'call' && expr.name === 'iif' && expr.args.length === 3) {
    const [condition, then, otherwise] = expr.args.map((arg, i) =>
      i === 0 ? compileExpr(arg, known) : compileText(arg, known),
    ) as [Compiled, (scope: Scope) => string, (scope: Scope) => string];
    return (scope) => (expectBool(condition(scope), 'iif') === true ? then(scope) : otherwise(scope));
  }
  if (expr.kind === 'call' && expr.name === 'case' && functions.case?.arity.includes(expr.args.length)) {
    const predicates: Compiled[] = [];
    const values: ((scope: Scope) => string)[] = [];
    for (let i = 0; i + 1 < expr.args.length; i += 2) {
      predicates.push(compileExpr(expr.args[i] as Expr, known));
      values.push(compileText(expr.args[i + 1] as Expr, known));
    }
    const otherwise = compileText(expr.args[expr.args.length - 1] as Expr, known);
    return (scope) => {
      for (let i = 0; i < predicates.length; i += 1)
        if (expectBool((predicates[i] as Compiled)(scope), 'case') === true)
          return (values[i] as (scope: Scope) => string)(scope);
      return otherwise(scope);
    };
  }
  const value = compileExpr(expr, known);
  return (scope) => toKqlString(value(scope));
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
    case 'startswith': {
      const constant =
        expr.right.kind === 'literal' && expr.right.literal.type === 'string'
          ? expr.right.literal.value.toLowerCase()
          : undefined;
      const test =
        op === 'contains'
          ? (a: string, b: string) => a.includes(b)
          : (a: string, b: string) => a.startsWith(b);
      return (scope) => {
        const a = expectString(left(scope), op).toLowerCase();
        return test(a, constant ?? expectString(right(scope), op).toLowerCase());
      };
    }
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

/** A function call compiled: its arguments, compiled, into one closure. */
type FunctionCompiler = (args: readonly Compiled[]) => Compiled;

interface FunctionDefinition {
  readonly arity: readonly number[];
  readonly compile: FunctionCompiler;
}

const hasSurrogates = /[\ud800-\udfff]/;
/** Kusto counts and indexes strings in Unicode characters (code points), JavaScript in UTF-16 units. */
const characters = (text: string): readonly string[] | string =>
  hasSurrogates.test(text) ? Array.from(text) : text;

const integerText = /^[+-]?\d+$/;

function strictInteger(text: string, min: number, max: number): number | null {
  const trimmed = text.trim();
  if (!integerText.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : null;
}

function toKqlString(value: Value): string {
  if (typeof value === 'string') return value;
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

/** The i-th compiled argument (the arity is checked before a function is compiled). */
const arg = (args: readonly Compiled[], index: number): Compiled => args[index] as Compiled;

/** A function of one argument. */
const unary =
  (run: (value: Value) => Value): FunctionCompiler =>
  (args) => {
    const a = arg(args, 0);
    return (scope) => run(a(scope));
  };

const functions: Readonly<Record<string, FunctionDefinition>> = {
  // tostring(): a string; '' for null (https://learn.microsoft.com/kusto/query/tostring-function).
  // (Compiled by compileText, which reads dynamic elements without wrapping them first.)
  tostring: { arity: [1], compile: unary(toKqlString) },
  // toint() / tolong(): the number, or null when the text is not one
  // (https://learn.microsoft.com/kusto/query/toint-function, …/tolong-function). Here: an optional sign
  // and decimal digits only; outside the type's range is null too.
  toint: {
    arity: [1],
    compile: unary((value) => convertInteger(value, -2_147_483_648, 2_147_483_647, 'toint')),
  },
  tolong: {
    arity: [1],
    compile: unary((value) =>
      convertInteger(value, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'tolong'),
    ),
  },
  tolower: { arity: [1], compile: unary((value) => expectString(value, 'tolower').toLowerCase()) },
  toupper: { arity: [1], compile: unary((value) => expectString(value, 'toupper').toUpperCase()) },
  // strcat(): the arguments concatenated, each as tostring() would (https://learn.microsoft.com/kusto/query/strcat-function).
  strcat: {
    arity: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    compile: (args) => (scope) => {
      let text = '';
      for (const part of args) text += toKqlString(part(scope));
      return text;
    },
  },
  // strlen(): the length in Unicode characters (https://learn.microsoft.com/kusto/query/strlen-function).
  strlen: { arity: [1], compile: unary((value) => characters(expectString(value, 'strlen')).length) },
  // substring(source, start[, length]): from a zero-based start (negative: from the end), to the end or
  // length characters (https://learn.microsoft.com/kusto/query/substring-function).
  substring: {
    arity: [2, 3],
    compile: (args) => {
      const source = arg(args, 0);
      const from = arg(args, 1);
      const count = args.length > 2 ? arg(args, 2) : undefined;
      return (scope) => {
        const text = characters(expectString(source(scope), 'substring'));
        let start = expectLong(from(scope), 'substring start');
        const length = count === undefined ? undefined : expectLong(count(scope), 'substring length');
        if (start === null || length === null) return '';
        if (length !== undefined && length < 0)
          throw new KqlEvaluationError('substring: a negative length is not defined here');
        if (start < 0) start = Math.max(0, text.length + start);
        const end = length === undefined ? text.length : Math.min(text.length, start + length);
        return typeof text === 'string' ? text.slice(start, end) : text.slice(start, end).join('');
      };
    },
  },
  // indexof(source, lookup): zero-based index of the first occurrence, -1 when absent
  // (https://learn.microsoft.com/kusto/query/indexof-function). Only the two-argument form here.
  indexof: {
    arity: [2],
    compile: (args) => {
      const source = arg(args, 0);
      const lookup = arg(args, 1);
      return (scope) => {
        const text = expectString(source(scope), 'indexof');
        const at = text.indexOf(expectString(lookup(scope), 'indexof'));
        return at < 0 || !hasSurrogates.test(text) ? at : Array.from(text.slice(0, at)).length;
      };
    },
  },
  // isnull()/isnotnull(): a dynamic null counts as null (https://learn.microsoft.com/kusto/query/isnull-function).
  isnull: { arity: [1], compile: unary((value) => isNullValue(value)) },
  isnotnull: { arity: [1], compile: unary((value) => !isNullValue(value)) },
  // isempty()/isnotempty(): null or '' (https://learn.microsoft.com/kusto/query/isempty-function).
  isempty: { arity: [1], compile: unary((value) => isEmptyValue(value)) },
  isnotempty: { arity: [1], compile: unary((value) => !isEmptyValue(value)) },
  // not(): logical negation; null stays null (https://learn.microsoft.com/kusto/query/not-function).
  not: {
    arity: [1],
    compile: unary((value) => {
      const bool = expectBool(value, 'not');
      return bool === null ? null : !bool;
    }),
  },
  // iif(condition, then, else): a null condition takes `else`; only the chosen branch is evaluated
  // (https://learn.microsoft.com/kusto/query/iff-function).
  iif: {
    arity: [3],
    compile: (args) => {
      const condition = arg(args, 0);
      const then = arg(args, 1);
      const otherwise = arg(args, 2);
      return (scope) => (expectBool(condition(scope), 'iif') === true ? then(scope) : otherwise(scope));
    },
  },
  // case(predicate1, then1, …, else): the first true predicate's value (https://learn.microsoft.com/kusto/query/case-function).
  case: {
    arity: [3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27],
    compile: (args) => {
      const last = arg(args, args.length - 1);
      return (scope) => {
        for (let i = 0; i + 1 < args.length; i += 2)
          if (expectBool(arg(args, i)(scope), 'case') === true) return arg(args, i + 1)(scope);
        return last(scope);
      };
    },
  },
  // make_datetime(year, month, day, hour, minute, second): null when the parts are not a valid date
  // (https://learn.microsoft.com/kusto/query/make-datetime-function). Whole seconds here.
  make_datetime: {
    arity: [6],
    compile: (args) => (scope) => {
      const parts = args.map((part) => expectLong(part(scope), 'make_datetime'));
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
  if (expr.name === 'tostring' && expr.args.length === 1) return compileText(expr.args[0] as Expr, known);
  const definition = functions[expr.name];
  if (definition === undefined)
    throw new KqlEvaluationError(`function ${expr.name}() is not supported here (offset ${expr.offset})`);
  if (!definition.arity.includes(expr.args.length))
    throw new KqlEvaluationError(
      `${expr.name}() takes ${definition.arity.join(' or ')} arguments, not ${expr.args.length}`,
    );
  return definition.compile(expr.args.map((argument) => compileExpr(argument, known)));
}

/**
 * extract_all(regex, source): every match of the regex in source, as a dynamic array: with one capture
 * group the group of each match, with several an array of the groups per match; null when nothing
 * matches (https://learn.microsoft.com/kusto/query/extract-all-function). The regex is a constant of
 * one to 16 capture groups. A group that took no part in a match is '' (RE2 reports an empty submatch).
 * Only the two-argument form.
 *
 * With `only`, the expression is `extract_all(…)[only]`: the regex runs up to that match, which is
 * returned as the index would return it (null when there are fewer matches).
 */
function compileExtractAll(expr: Expr & { kind: 'call' }, known: Bindings, only?: number): Compiled {
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
  /** The next match's groups ('' for a group that took no part), or undefined after the last. */
  const next = (text: string): unknown => {
    const match = regex.exec(text);
    if (match === null) return undefined;
    if (match[0] === '') regex.lastIndex += 1;
    if (groups === 1) return match[1] ?? '';
    const captured: string[] = new Array<string>(groups);
    for (let g = 0; g < groups; g += 1) captured[g] = match[g + 1] ?? '';
    return captured;
  };
  if (only !== undefined)
    return (scope) => {
      const text = expectString(source(scope), 'extract_all');
      regex.lastIndex = 0;
      let found: unknown;
      for (let i = 0; i <= only; i += 1) {
        found = next(text);
        if (found === undefined) return dynamicNull;
      }
      return new DynamicValue(found);
    };
  return (scope) => {
    const text = expectString(source(scope), 'extract_all');
    const matches: unknown[] = [];
    regex.lastIndex = 0;
    for (let found = next(text); found !== undefined; found = next(text)) matches.push(found);
    return matches.length === 0 ? dynamicNull : new DynamicValue(matches);
  };
}
