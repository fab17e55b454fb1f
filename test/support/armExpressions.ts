// A small evaluator of ARM template expressions ("[func(args).prop[0]]"), enough to evaluate what Bicep
// compiles main.bicep's scopes, conditions, names and module parameters into, for a given set of
// parameter values — so tests can check what a template deploys where without a cloud. Like ARM, `if`
// evaluates only the branch it takes (an untaken branch may reference what does not exist). Functions
// it does not know throw, and so do reference() calls to resources the scenario does not provide: a
// test then fails instead of passing on a guess.
// ARM functions: https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions

export type ArmValue = string | number | boolean | null | ArmValue[] | { [key: string]: ArmValue };

export interface ArmTemplate {
  parameters?: Record<string, { defaultValue?: unknown }>;
  variables?: Record<string, unknown>;
  resources: unknown;
  outputs?: Record<string, { value: unknown }>;
}

export interface ArmScenario {
  parameters: Record<string, ArmValue>;
  subscriptionId: string;
  tenantId?: string;
  /** uniqueString(...) stand-in: a fixed 13-character token, as long as ARM's. */
  uniqueString?: string;
  /** reference(id, …): the resource (with 'full') or its properties, by resource ID (case-insensitive). */
  resources?: Record<string, { full: Record<string, ArmValue>; properties?: Record<string, ArmValue> }>;
}

/** A value as text, the way ARM's string functions show it (objects and arrays as JSON). */
export function asText(value: ArmValue | undefined): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return `${value}`;
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

type Node =
  | { kind: 'literal'; value: ArmValue }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'property'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

function parse(text: string): Node {
  let i = 0;
  const peek = () => text[i] ?? '';
  const skip = () => {
    while (/\s/.test(peek())) i += 1;
  };
  const expect = (c: string) => {
    skip();
    if (text[i] !== c) throw new Error(`expected '${c}' at ${i} in ${text}`);
    i += 1;
  };
  const primary = (): Node => {
    skip();
    const c = peek();
    if (c === "'") {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated string in ${text}`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += text[i];
        i += 1;
      }
      return { kind: 'literal', value };
    }
    if (/[-0-9]/.test(c)) {
      const match = /^-?\d+/.exec(text.slice(i));
      if (!match) throw new Error(`bad number at ${i} in ${text}`);
      i += match[0].length;
      return { kind: 'literal', value: Number(match[0]) };
    }
    const name = /^[A-Za-z_][\w.]*/.exec(text.slice(i))?.[0];
    if (name === undefined) throw new Error(`unexpected '${c}' at ${i} in ${text}`);
    i += name.length;
    expect('(');
    const args: Node[] = [];
    skip();
    if (peek() === ')') i += 1;
    else {
      for (;;) {
        args.push(expression());
        skip();
        if (peek() === ',') {
          i += 1;
          continue;
        }
        expect(')');
        break;
      }
    }
    return { kind: 'call', name: name.toLowerCase(), args };
  };
  const expression = (): Node => {
    let node = primary();
    for (;;) {
      skip();
      if (peek() === '.') {
        i += 1;
        const name = /^\w+/.exec(text.slice(i))?.[0];
        if (name === undefined) throw new Error(`bad property at ${i} in ${text}`);
        i += name.length;
        node = { kind: 'property', target: node, name };
      } else if (peek() === '[') {
        i += 1;
        const index = expression();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else return node;
    }
  };
  const node = expression();
  skip();
  if (i !== text.length) throw new Error(`trailing text at ${i} in ${text}`);
  return node;
}

export class ArmEvaluator {
  private readonly variableCache = new Map<string, ArmValue>();

  constructor(
    private readonly template: ArmTemplate,
    private readonly scenario: ArmScenario,
  ) {}

  /** A template value: strings in [brackets] are expressions ("[[" escapes), objects and arrays recursively. */
  value(raw: unknown): ArmValue {
    if (typeof raw === 'string') {
      if (raw.startsWith('[[')) return raw.slice(1);
      if (raw.startsWith('[') && raw.endsWith(']')) return this.evaluate(parse(raw.slice(1, -1)));
      return raw;
    }
    if (Array.isArray(raw)) return raw.map((item) => this.value(item));
    if (raw !== null && typeof raw === 'object') {
      return Object.fromEntries(Object.entries(raw).map(([key, item]) => [key, this.value(item)]));
    }
    return raw as ArmValue;
  }

  variable(name: string): ArmValue {
    if (!this.variableCache.has(name)) {
      const variables = this.template.variables ?? {};
      if (!(name in variables)) throw new Error(`no variable ${name}`);
      this.variableCache.set(name, this.value(variables[name]));
    }
    return this.variableCache.get(name) as ArmValue;
  }

  parameter(name: string): ArmValue {
    if (name in this.scenario.parameters) return this.scenario.parameters[name] as ArmValue;
    const declared = this.template.parameters?.[name];
    if (declared === undefined) throw new Error(`no parameter ${name}`);
    if (declared.defaultValue === undefined)
      throw new Error(`parameter ${name} has no value in the scenario`);
    return this.value(declared.defaultValue);
  }

  private evaluate(node: Node): ArmValue {
    switch (node.kind) {
      case 'literal':
        return node.value;
      case 'property': {
        const target = this.evaluate(node.target);
        if (target === null || typeof target !== 'object' || Array.isArray(target)) {
          throw new Error(`.${node.name} of ${JSON.stringify(target)}`);
        }
        if (!(node.name in target)) throw new Error(`no property ${node.name} in ${JSON.stringify(target)}`);
        return target[node.name] as ArmValue;
      }
      case 'index': {
        const target = this.evaluate(node.target);
        const index = this.evaluate(node.index);
        if (Array.isArray(target) && typeof index === 'number') {
          if (index < 0 || index >= target.length) throw new Error(`index ${index} out of range`);
          return target[index] as ArmValue;
        }
        if (
          target !== null &&
          typeof target === 'object' &&
          !Array.isArray(target) &&
          typeof index === 'string'
        ) {
          return target[index] as ArmValue;
        }
        throw new Error(`cannot index ${JSON.stringify(target)} with ${JSON.stringify(index)}`);
      }
      case 'call':
        return this.call(node.name, node.args);
    }
  }

  private call(name: string, argNodes: Node[]): ArmValue {
    // Lazy: only the branch taken is evaluated, as ARM does.
    if (name === 'if') {
      const [condition, whenTrue, whenFalse] = argNodes;
      if (condition === undefined || whenTrue === undefined || whenFalse === undefined)
        throw new Error('if/3');
      return this.evaluate(this.truthy(this.evaluate(condition)) ? whenTrue : whenFalse);
    }
    const args = argNodes.map((node) => this.evaluate(node));
    const str = (index: number): string => {
      const value = args[index];
      if (typeof value !== 'string') throw new Error(`${name}: argument ${index} is not a string`);
      return value;
    };
    switch (name) {
      case 'parameters':
        return this.parameter(str(0));
      case 'variables':
        return this.variable(str(0));
      case 'concat':
        if (args.every(Array.isArray)) return (args as ArmValue[][]).flat();
        return args.map((value) => asText(value)).join('');
      case 'format':
        return str(0).replace(/\{(\d+)\}/g, (_, n: string) => asText(args[Number(n) + 1]));
      case 'empty': {
        const value = args[0];
        if (value === null || value === undefined || value === '') return true;
        if (Array.isArray(value)) return value.length === 0;
        if (typeof value === 'object') return Object.keys(value).length === 0;
        return false;
      }
      case 'not':
        return !this.truthy(args[0] ?? null);
      case 'and':
        return args.every((value) => this.truthy(value));
      case 'or':
        return args.some((value) => this.truthy(value));
      case 'equals':
        return JSON.stringify(args[0]) === JSON.stringify(args[1]);
      case 'true':
        return true;
      case 'false':
        return false;
      case 'split':
        return str(0).split(str(1));
      case 'tolower':
        return str(0).toLowerCase();
      case 'toupper':
        return str(0).toUpperCase();
      case 'take': {
        const value = args[0];
        const count = args[1];
        if (typeof count !== 'number') throw new Error('take: count');
        if (typeof value === 'string' || Array.isArray(value)) return value.slice(0, count);
        throw new Error('take: value');
      }
      case 'length': {
        const value = args[0];
        if (typeof value === 'string' || Array.isArray(value)) return value.length;
        if (value !== null && typeof value === 'object') return Object.keys(value).length;
        throw new Error('length');
      }
      case 'uniquestring':
        return this.scenario.uniqueString ?? 'abcdefghijklm';
      case 'subscription':
        return {
          id: `/subscriptions/${this.scenario.subscriptionId}`,
          subscriptionId: this.scenario.subscriptionId,
          tenantId: this.scenario.tenantId ?? '00000000-0000-0000-0000-00000000000a',
        };
      case 'tenant':
        return { tenantId: this.scenario.tenantId ?? '00000000-0000-0000-0000-00000000000a' };
      case 'environment':
        // The public cloud, as environment() returns it there (the properties templates read).
        return {
          name: 'AzureCloud',
          authentication: { loginEndpoint: 'https://login.microsoftonline.com/' },
        };
      case 'createobject': {
        const object: Record<string, ArmValue> = {};
        for (let k = 0; k + 1 < args.length; k += 2) object[asText(args[k])] = args[k + 1] as ArmValue;
        return object;
      }
      case 'subscriptionresourceid': {
        const type = str(0);
        const names = args.slice(1).map((value) => asText(value));
        return `/subscriptions/${this.scenario.subscriptionId}/providers/${type}/${names.join('/')}`;
      }
      case 'extensionresourceid': {
        const names = args.slice(2).map((value) => asText(value));
        return `${str(0)}/providers/${str(1)}/${names.join('/')}`;
      }
      case 'reference': {
        const id = str(0).toLowerCase();
        const full = args.length > 2 && asText(args[2]).toLowerCase() === 'full';
        const entry = Object.entries(this.scenario.resources ?? {}).find(
          ([key]) => key.toLowerCase() === id,
        )?.[1];
        if (entry === undefined)
          throw new Error(`reference() to ${str(0)}, which this scenario does not have`);
        return full
          ? entry.full
          : (entry.properties ?? (entry.full.properties as Record<string, ArmValue>) ?? {});
      }
      default:
        throw new Error(`the evaluator does not know ${name}()`);
    }
  }

  private truthy(value: ArmValue): boolean {
    if (typeof value !== 'boolean') throw new Error(`not a boolean: ${JSON.stringify(value)}`);
    return value;
  }
}

/** The template's resources by symbolic name (languageVersion 2.0) or name expression (1.0). */
export function resourcesOf(template: ArmTemplate): Map<string, Record<string, unknown>> {
  const resources = template.resources;
  const found = new Map<string, Record<string, unknown>>();
  if (Array.isArray(resources)) {
    for (const resource of resources as Record<string, unknown>[])
      found.set(typeof resource.name === 'string' ? resource.name : JSON.stringify(resource.name), resource);
  } else if (resources !== null && typeof resources === 'object') {
    for (const [symbol, resource] of Object.entries(resources as Record<string, Record<string, unknown>>)) {
      found.set(symbol, resource);
    }
  }
  return found;
}
