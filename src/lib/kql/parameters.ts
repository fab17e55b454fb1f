// A transform's deployment-time parameters: `let NAME = DEFAULT;` lines that Bicep replaces from a
// setting (infra/modules/ingestion.bicep and proxyLogs.bicep: replace('let NAME = DEFAULT;',
// 'let NAME = VALUE;')). The same replacement here gives the offline runs the text Azure Monitor runs.

export interface TransformParameter {
  readonly name: string;
  /** The setting (azd environment / app setting / environment variable) that gives its value. */
  readonly setting: string;
  readonly default: string;
}

export class TransformParameterError extends Error {
  override readonly name = 'TransformParameterError';
}

/** The value a setting may take, by the kind of its default: true/false, or an integer. */
function validValue(parameter: TransformParameter, value: string): boolean {
  if (/^(true|false)$/.test(parameter.default)) return /^(true|false)$/.test(value);
  if (/^-?\d+$/.test(parameter.default)) return /^-?\d+$/.test(value);
  return false;
}

/**
 * The transform as deployed with these settings: each parameter's `let` line with the setting's value
 * (its default when unset or empty). A value of the wrong kind, or a parameter whose `let` line is not
 * in the text exactly once, is an error naming the setting.
 */
export function withTransformParameters(
  transformKql: string,
  parameters: readonly TransformParameter[],
  settingValue: (setting: string) => string | undefined,
): string {
  let text = transformKql;
  for (const parameter of parameters) {
    const line = `let ${parameter.name} = ${parameter.default};`;
    if (text.split(line).length !== 2)
      throw new TransformParameterError(
        `the transform must contain '${line}' exactly once (${parameter.setting})`,
      );
    const raw = settingValue(parameter.setting)?.trim();
    const value = raw === undefined || raw === '' ? parameter.default : raw.toLowerCase();
    if (!validValue(parameter, value))
      throw new TransformParameterError(
        `Setting ${parameter.setting} is malformed: expected ${/^(true|false)$/.test(parameter.default) ? 'true or false' : 'an integer'}, got "${raw ?? ''}"`,
      );
    text = text.replace(line, `let ${parameter.name} = ${value};`);
  }
  return text;
}
