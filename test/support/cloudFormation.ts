import assert from 'node:assert/strict';

// Reading the CloudFormation templates of infra/aws as plain YAML (they use long-form intrinsics only).

export function record(value: unknown, where: string): Record<string, unknown> {
  assert.ok(
    value !== null && typeof value === 'object' && !Array.isArray(value),
    `${where} should be a mapping, got ${JSON.stringify(value)}`,
  );
  return value as Record<string, unknown>;
}

export function list(value: unknown, where: string): unknown[] {
  assert.ok(Array.isArray(value), `${where} should be a list, got ${JSON.stringify(value)}`);
  return value as unknown[];
}

export function text(value: unknown, where: string): string {
  assert.equal(typeof value, 'string', `${where} should be a string, got ${JSON.stringify(value)}`);
  return value as string;
}

/** IAM policy elements take a string or a list of strings. */
export function strings(value: unknown, where: string): string[] {
  return typeof value === 'string' ? [value] : list(value, where).map((v, i) => text(v, `${where}[${i}]`));
}

const noValue = Symbol('AWS::NoValue');

/**
 * The template as CloudFormation sees it with these conditions: every `Fn::If` replaced by its branch,
 * and a branch that is `Ref: AWS::NoValue` dropped from its list or mapping. Other intrinsics stay as
 * they are. A condition the caller does not name fails the test.
 */
export function resolveConditions<T>(value: T, conditions: Readonly<Record<string, boolean>>): T {
  const resolve = (node: unknown, where: string): unknown => {
    if (Array.isArray(node)) {
      return node.map((item, i) => resolve(item, `${where}[${i}]`)).filter((item) => item !== noValue);
    }
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node as Record<string, unknown>);
    if (entries.length === 1 && entries[0]![0] === 'Fn::If') {
      const [name, whenTrue, whenFalse] = list(entries[0]![1], `${where}.Fn::If`);
      const condition = text(name, `${where}.Fn::If[0]`);
      assert.ok(condition in conditions, `${where}: the test names no value for condition ${condition}`);
      return resolve(conditions[condition] ? whenTrue : whenFalse, `${where}.Fn::If`);
    }
    if (entries.length === 1 && entries[0]![0] === 'Ref' && entries[0]![1] === 'AWS::NoValue') return noValue;
    return Object.fromEntries(
      entries
        .map(([key, item]) => [key, resolve(item, `${where}.${key}`)] as const)
        .filter(([, item]) => item !== noValue),
    );
  };
  const resolved = resolve(value, 'template');
  assert.notEqual(resolved, noValue);
  return resolved as T;
}
