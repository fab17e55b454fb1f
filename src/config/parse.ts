import type { SettingProblem } from './settingsError.js';

/**
 * Reads settings out of a string map and collects every problem instead of stopping at the first.
 * Values echoed into problems are shown only when they are not secret (callers decide by `echo`).
 */
export class SettingsReader {
  readonly problems: SettingProblem[] = [];
  /**
   * Every setting asked for, with the default used when it is absent (undefined: none). Reading a
   * collector's settings from an empty environment lists them: the app settings infra deploys and the
   * settings the docs must describe come from the reader itself, not from a second list.
   */
  readonly asked = new Map<string, string | undefined>();

  /** Things worth telling whoever runs it that are not problems (a setting that is set but ignored). */
  readonly notices: string[] = [];

  constructor(private readonly values: Readonly<Record<string, string | undefined>>) {}

  /** The trimmed value, or undefined when absent or blank (a blank app setting means "not set"). */
  raw(name: string): string | undefined {
    if (!this.asked.has(name)) this.asked.set(name, undefined);
    const value = this.values[name]?.trim();
    return value ? value : undefined;
  }

  /** Whether `name` is set, without counting it as a setting this reader uses. */
  isSet(name: string): boolean {
    return Boolean(this.values[name]?.trim());
  }

  /** The value, or `fallback` when absent: the fallback is the setting's documented default. */
  withDefault(name: string, fallback: string): string {
    const value = this.raw(name);
    this.asked.set(name, fallback);
    return value ?? fallback;
  }

  required(name: string, expected: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) this.problems.push({ setting: name, problem: 'is missing', expected });
    return value;
  }

  matching(name: string, value: string | undefined, pattern: RegExp, expected: string): string | undefined {
    if (value === undefined) return undefined;
    if (pattern.test(value)) return value;
    this.problems.push({ setting: name, problem: `is malformed ("${value}")`, expected });
    return undefined;
  }

  httpsUrl(name: string, value: string | undefined, expected: string): string | undefined {
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.problems.push({ setting: name, problem: `is not a URL ("${value}")`, expected });
      return undefined;
    }
    if (url.protocol !== 'https:') {
      this.problems.push({ setting: name, problem: `must use https ("${value}")`, expected });
      return undefined;
    }
    return value.replace(/\/+$/, '');
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    this.asked.set(name, fallback);
    if (value === undefined) return fallback;
    const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (match !== undefined) return match;
    this.problems.push({
      setting: name,
      problem: `is "${value}"`,
      expected: `one of ${allowed.join(', ')} (default ${fallback})`,
    });
    return fallback;
  }

  integer(name: string, range: { min: number; max: number }, fallback: number): number {
    const value = this.raw(name);
    this.asked.set(name, String(fallback));
    if (value === undefined) return fallback;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isSafeInteger(parsed) && parsed >= range.min && parsed <= range.max) return parsed;
    this.problems.push({
      setting: name,
      problem: `is "${value}"`,
      expected: `an integer from ${range.min} to ${range.max} (default ${fallback})`,
    });
    return fallback;
  }

  /** NCRONTAB with seconds, as the Functions host reads it: six fields, e.g. `0 0 6 * * *`. */
  schedule(name: string, fallback: string): string {
    const value = this.withDefault(name, fallback);
    const problem = ncrontabProblem(value);
    if (problem === undefined) return value;
    this.problems.push({
      setting: name,
      problem: `is "${value}" (${problem})`,
      expected: `an NCRONTAB expression with six fields {second} {minute} {hour} {day} {month} {day-of-week}, e.g. "${fallback}"`,
    });
    return fallback;
  }
}

const fieldRanges: readonly [string, number, number][] = [
  ['second', 0, 59],
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day', 1, 31],
  ['month', 1, 12],
  ['day-of-week', 0, 6],
];
const monthNames = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function ncrontabProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) return `${fields.length} fields`;
  for (const [index, field] of fields.entries()) {
    const [label, min, max] = fieldRanges[index] ?? ['field', 0, 0];
    const names = label === 'month' ? monthNames : label === 'day-of-week' ? dayNames : [];
    for (const part of field.split(',')) {
      const [range, step] = part.split('/');
      if (step !== undefined && !/^\d+$/.test(step)) return `bad step in ${label} field "${field}"`;
      if (range === '*') continue;
      const bounds = (range ?? '').split('-');
      if (bounds.length > 2) return `bad range in ${label} field "${field}"`;
      for (const bound of bounds) {
        const byName = names.indexOf(bound.toUpperCase());
        const numeric = /^\d+$/.test(bound) ? Number(bound) : Number.NaN;
        const value = byName >= 0 ? byName + (label === 'month' ? 1 : 0) : numeric;
        if (!(value >= min && value <= max)) return `${label} "${bound}" outside ${min}-${max}`;
      }
    }
  }
  return undefined;
}
