/** One problem with one setting: which setting, what is wrong, and what was expected instead. */
export interface SettingProblem {
  readonly setting: string;
  readonly problem: string;
  readonly expected: string;
}

/** All setting problems of one load at once, so a deployment is fixed in one round trip, not one per setting. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(readonly problems: readonly SettingProblem[]) {
    super(
      problems.length === 1 && problems[0]
        ? describe(problems[0])
        : `${problems.length} settings are invalid:\n${problems.map((p) => `  - ${describe(p)}`).join('\n')}`,
    );
  }
}

function describe(p: SettingProblem): string {
  return `Setting ${p.setting} ${p.problem}: expected ${p.expected}.`;
}
