import { availableParallelism } from 'node:os';
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { TokenCredential } from '@azure/core-auth';
import { collectorNamed } from '../../src/app/configuredRun.js';
import { loadSettings, type Host } from '../../src/config/settings.js';
import type { AwsAccessKeysSettings } from '../../src/sources/aws/settings.js';
import type { EntraSignInsSettings } from '../../src/sources/entra/settings.js';
import { SettingsError } from '../../src/config/settingsError.js';

const unusedCredential: TokenCredential = {
  getToken: () => Promise.reject(new Error('Key Vault must not be read in this test')),
};

const validFunctionEnv = {
  AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
  LOGS_INGESTION_ENDPOINT: 'https://dcr-x.westeurope-1.ingest.monitor.azure.com',
  LOGS_INGESTION_DCR_ID: 'dcr-0123456789abcdef0123456789abcdef',
  AWS_FEDERATION_AUDIENCE: 'api://crosscloud-identity-monitor-aws',
  'aws-role-arn': 'arn:aws:iam::123456789012:role/collector',
};

/** Loads the settings of the declared collector `name`, as a run of it does. */
async function loadFor<CollectorSettings>(
  name: string,
  env: Record<string, string | undefined>,
  host: Host = 'function',
  dryRun = false,
) {
  const declaration = collectorNamed(name);
  assert.ok(declaration, name);
  const loaded = await loadSettings({
    env,
    host,
    dryRun,
    collector: {
      readSettings: declaration.readSettings,
      schedule: { setting: declaration.timer.scheduleSetting, default: declaration.timer.defaultSchedule },
      needsState: declaration.kind === 'windowed',
    },
    credentialFor: () => unusedCredential,
  });
  return { ...loaded, collectorSettings: loaded.collectorSettings as unknown as CollectorSettings };
}

function load(env: Record<string, string | undefined>, host: Host = 'function', dryRun = false) {
  return loadFor<AwsAccessKeysSettings>('aws-access-keys', env, host, dryRun);
}

async function problemsOf(env: Record<string, string | undefined>, host: Host = 'function') {
  const error = await load(env, host).then(
    () => assert.fail('expected a SettingsError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof SettingsError, `expected SettingsError, got ${String(error)}`);
  return error;
}

describe('settings', () => {
  it('loads a complete function configuration with defaults', async () => {
    const { settings, collectorSettings: aws } = await load(validFunctionEnv);
    assert.deepEqual(aws.auth, {
      kind: 'federation',
      audience: 'api://crosscloud-identity-monitor-aws',
      roleArn: 'arn:aws:iam::123456789012:role/collector',
    });
    assert.equal(aws.accessKeyIdMode, 'masked');
    assert.equal(aws.concurrency, 8);
    assert.equal(settings.schedule, '0 0 6 * * *');
    assert.equal(settings.logsIngestion?.dcrImmutableId, validFunctionEnv.LOGS_INGESTION_DCR_ID);
    assert.equal(settings.logsIngestion?.audience, 'https://monitor.azure.com');
  });

  it('gives organization mode the run time budget and account concurrency', async () => {
    const { settings, collectorSettings: aws } = await load({
      ...validFunctionEnv,
      'aws-member-role-name': 'member',
      RUN_TIME_BUDGET_MINUTES: '12',
      AWS_ACCOUNT_CONCURRENCY: '6',
      AWS_ACCOUNT_WORKERS: '3',
    });
    assert.deepEqual(aws.organization, {
      memberRoleName: 'member',
      accounts: { include: [], exclude: [] },
      accountConcurrency: 6,
      budgetMs: 12 * 60_000,
      workers: 3,
    });
    assert.equal(settings.runBudgetMs, 12 * 60_000, 'one budget for every collector');
    const defaults = await load({ ...validFunctionEnv, 'aws-member-role-name': 'member' });
    assert.equal(defaults.collectorSettings.organization?.budgetMs, 20 * 60_000);
  });

  it('reads the accounts on one thread per core (auto), never more than accounts at a time, or as set', async () => {
    const cores = availableParallelism();
    const workersWith = async (env: Record<string, string>) =>
      (await load({ ...validFunctionEnv, 'aws-member-role-name': 'member', ...env })).collectorSettings
        .organization?.workers;
    const auto = cores > 1 ? Math.min(cores, 4) : 0;
    assert.equal(await workersWith({}), auto, `auto on ${cores} core(s)`);
    assert.equal(await workersWith({ AWS_ACCOUNT_WORKERS: 'AUTO' }), auto);
    assert.equal(
      await workersWith({ AWS_ACCOUNT_CONCURRENCY: '1' }),
      cores > 1 ? 1 : 0,
      'one account at a time: one thread at most',
    );
    assert.equal(await workersWith({ AWS_ACCOUNT_WORKERS: '0' }), 0);
    assert.equal(await workersWith({ AWS_ACCOUNT_WORKERS: '16' }), 16);
  });

  it('accepts the upper-snake form of a vault secret name as an override', async () => {
    const env = {
      ...validFunctionEnv,
      'aws-role-arn': undefined,
      AWS_ROLE_ARN: 'arn:aws:iam::210987654321:role/x',
    };
    const { collectorSettings: aws } = await load(env);
    assert.equal(aws.auth.kind === 'federation' && aws.auth.roleArn, env.AWS_ROLE_ARN);
  });

  const missingCases = [
    'AZURE_CLIENT_ID',
    'LOGS_INGESTION_ENDPOINT',
    'LOGS_INGESTION_DCR_ID',
    'AWS_FEDERATION_AUDIENCE',
  ] as const;
  for (const name of missingCases) {
    it(`names ${name} when it is missing or blank`, async () => {
      for (const value of [undefined, '   ']) {
        const error = await problemsOf({ ...validFunctionEnv, [name]: value });
        assert.deepEqual(
          error.problems.map((p) => p.setting),
          [name],
        );
        assert.match(error.message, new RegExp(`Setting ${name} is missing: expected .+`));
      }
    });
  }

  const malformedCases: [string, string, RegExp][] = [
    ['AZURE_CLIENT_ID', 'not-a-guid', /GUID/],
    ['LOGS_INGESTION_ENDPOINT', 'http://plain.example.com', /must use https/],
    ['LOGS_INGESTION_ENDPOINT', 'not a url', /is not a URL/],
    ['LOGS_INGESTION_DCR_ID', 'dcr-123', /"dcr-" followed by 32 hex digits/],
    ['LOGS_INGESTION_AUDIENCE', 'monitor.azure.us', /is not a URL/],
    ['AWS_FEDERATION_AUDIENCE', 'crosscloud', /Application ID URI/],
    ['aws-role-arn', 'arn:aws:iam::12345:role/x', /arn:aws:iam::<12-digit account>:role\/<name>/],
    ['aws-role-arn', 'arn:aws:iam::123456789012:user/alice', /role/],
    ['ACCESS_KEY_ID_MODE', 'partial', /one of masked, full/],
    ['AWS_CONCURRENCY', '0', /integer from 1 to 64/],
    ['AWS_ACCOUNT_WORKERS', '17', /auto, or an integer from 0 to 16/],
    ['AWS_ACCOUNT_WORKERS', 'all', /auto, or an integer from 0 to 16/],
    ['AWS_CONCURRENCY', 'eight', /integer from 1 to 64/],
    ['AWS_ACCESS_KEYS_SCHEDULE', '0 6 * * *', /six fields/],
    ['AWS_ACCESS_KEYS_SCHEDULE', '0 0 25 * * *', /hour "25" outside 0-23/],
    ['AWS_ACCESS_KEYS_SCHEDULE', '0 0 6 * * FUNDAY', /day-of-week/],
  ];
  for (const [name, value, expected] of malformedCases) {
    it(`rejects ${name}="${value}" naming the setting and what was expected`, async () => {
      const error = await problemsOf({ ...validFunctionEnv, [name]: value });
      assert.equal(error.problems[0]?.setting, name);
      assert.match(error.message, new RegExp(`Setting ${name} `));
      assert.match(error.message, expected);
    });
  }

  it('accepts valid NCRONTAB variants', async () => {
    for (const schedule of ['0 */30 * * * *', '0 0 6 * * MON-FRI', '0 15 2 1,15 JAN-DEC *']) {
      const { settings } = await load({ ...validFunctionEnv, AWS_ACCESS_KEYS_SCHEDULE: schedule });
      assert.equal(settings.schedule, schedule);
    }
  });

  it('reports every problem at once', async () => {
    const error = await problemsOf({ AWS_CONCURRENCY: '-1' });
    assert.deepEqual(error.problems.map((p) => p.setting).sort(), [
      'AWS_CONCURRENCY',
      'AWS_FEDERATION_AUDIENCE',
      'AZURE_CLIENT_ID',
      'KEY_VAULT_URI',
      'LOGS_INGESTION_DCR_ID',
      'LOGS_INGESTION_ENDPOINT',
    ]);
    assert.match(error.message, /^6 settings are invalid:/);
  });

  it('asks for KEY_VAULT_URI only when a secret is not overridden', async () => {
    const error = await problemsOf({ ...validFunctionEnv, 'aws-role-arn': undefined });
    assert.equal(error.problems[0]?.setting, 'KEY_VAULT_URI');
    assert.match(error.message, /needed to read aws-role-arn/);
  });

  it('lets a terminal use the AWS default chain and skip ingestion on dry runs', async () => {
    const { settings, collectorSettings: aws } = await load({}, 'cli', true);
    assert.deepEqual(aws.auth, { kind: 'default-chain' });
    assert.equal(settings.logsIngestion, undefined);
  });
});

describe('Entra settings', () => {
  const entraEnv = {
    AZURE_CLIENT_ID: validFunctionEnv.AZURE_CLIENT_ID,
    LOGS_INGESTION_ENDPOINT: validFunctionEnv.LOGS_INGESTION_ENDPOINT,
    LOGS_INGESTION_DCR_ID: validFunctionEnv.LOGS_INGESTION_DCR_ID,
    AzureWebJobsStorage__tableServiceUri: 'https://stexample.table.core.windows.net',
  };
  function loadEntra(env: Record<string, string | undefined>, host: Host = 'function') {
    return loadFor<EntraSignInsSettings>('entra-signins', env, host);
  }

  it('needs neither AWS settings nor Key Vault, and has documented defaults', async () => {
    const { settings, collectorSettings: entra } = await loadEntra(entraEnv);
    assert.deepEqual(entra.signInEventTypes, ['interactiveUser']);
    assert.equal(entra.graphEndpoint, 'https://graph.microsoft.com');
    assert.equal(entra.graphAudience, 'https://graph.microsoft.com');
    assert.deepEqual(entra.pacing, { limit: 5, intervalMs: 10_200 });
    assert.deepEqual(entra.window, {
      overlapMs: 10 * 60_000,
      lagMs: 15 * 60_000,
      initialLookbackMs: 24 * 3_600_000,
      sliceMs: 60 * 60_000,
      retentionMs: 30 * 86_400_000,
      budgetMs: 20 * 60_000,
    });
    assert.deepEqual(settings.checkpointStorage, {
      kind: 'identity',
      tableServiceUri: 'https://stexample.table.core.windows.net',
      tableName: 'checkpoints',
    });
    assert.equal(settings.schedule, '0 */15 * * * *');
  });

  it('reads every sign-in event type, in any order, without duplicates', async () => {
    const { collectorSettings: entra } = await loadEntra({
      ...entraEnv,
      ENTRA_SIGNIN_EVENT_TYPES: ' managedIdentity, interactiveUser,managedIdentity ',
    });
    assert.deepEqual(entra.signInEventTypes, ['managedIdentity', 'interactiveUser']);
  });

  it('the deployed app must say where checkpoints live; a terminal falls back to a file', async () => {
    const error = await loadEntra({ ...entraEnv, AzureWebJobsStorage__tableServiceUri: undefined }).then(
      () => assert.fail('expected a SettingsError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SettingsError);
    assert.equal(error.problems[0]?.setting, 'AzureWebJobsStorage__tableServiceUri');
    const { settings } = await loadFor('entra-audits', {}, 'cli', true);
    assert.equal(settings.checkpointStorage, undefined);
  });

  const malformed: [string, string, RegExp][] = [
    [
      'ENTRA_SIGNIN_EVENT_TYPES',
      'interactive',
      /comma-separated list of interactiveUser, nonInteractiveUser/,
    ],
    ['ENTRA_SIGNIN_EVENT_TYPES', ',', /comma-separated list/],
    ['GRAPH_ENDPOINT', 'http://graph.microsoft.com', /must use https/],
    ['GRAPH_AUDIENCE', 'graph', /is not a URL/],
    ['ENTRA_OVERLAP_MINUTES', '-1', /integer from 0 to 1440/],
    ['ENTRA_LAG_MINUTES', '1.5', /integer from 0 to 1440/],
    ['ENTRA_INITIAL_LOOKBACK_HOURS', '0', /integer from 1 to 720/],
    ['ENTRA_SLICE_MINUTES', '', /./],
    ['ENTRA_RETENTION_DAYS', '10000', /integer from 1 to 730/],
    ['GRAPH_REQUESTS_PER_WINDOW', 'five', /integer from 1 to 1000/],
    ['GRAPH_PACING_WINDOW_MS', '0', /integer from 1 to 600000/],
    ['GRAPH_APP_REQUESTS_PER_WINDOW', '0', /integer from 1 to 10000/],
    ['ENTRA_TENANT_CONCURRENCY', '64', /integer from 1 to 32/],
    ['AZURE_AUTHORITY_HOST', 'http://login.microsoftonline.com', /must use https/],
    [
      'ENTRA_TOKEN_EXCHANGE_AUDIENCE',
      'api://AzureADTokenExchange/x',
      /api:\/\/AzureADTokenExchange \(public cloud, default\)/,
    ],
    ['ENTRA_MULTITENANT_APP_ID', 'my-app', /client ID \(GUID\) of the multi-tenant app/],
    ['RUN_TIME_BUDGET_MINUTES', '9999', /integer from 1 to 600/],
    ['ENTRA_SIGNINS_SCHEDULE', '*/15 * * * *', /six fields/],
    ['CHECKPOINT_TABLE', 'my-table', /Azure table name/],
  ];
  describe('customer tenants (entra-tenants)', () => {
    const contoso = '11111111-2222-4333-8444-555555555555';
    const fabrikam = '66666666-7777-4888-9999-AAAAAAAAAAAA';
    const app = '5e0c1c7a-9a3b-4d52-8f0e-2b6f1d7c4a11';

    it('none listed: the home tenant alone, as before; the app-wide pacing and concurrency defaults', async () => {
      const { collectorSettings: entra } = await loadEntra(entraEnv);
      assert.equal(entra.multiTenant, undefined);
      assert.equal(entra.tenantConcurrency, 4);
      assert.deepEqual(entra.appPacing, { limit: 120, intervalMs: 10_200 });
    });

    it('lists tenants with optional names, lower-cased, with the app and the exchange audience', async () => {
      const { collectorSettings: entra } = await loadEntra({
        ...entraEnv,
        ENTRA_TENANTS: `${contoso}=Contoso Ltd;\n ${fabrikam} ,`,
        ENTRA_MULTITENANT_APP_ID: app,
      });
      assert.deepEqual(entra.multiTenant, {
        appClientId: app,
        authorityHost: 'https://login.microsoftonline.com',
        exchangeAudience: 'api://AzureADTokenExchange',
        tenants: [{ tenantId: contoso, displayName: 'Contoso Ltd' }, { tenantId: fabrikam.toLowerCase() }],
      });
    });

    async function problemsWith(env: Record<string, string>) {
      const error = await loadEntra({ ...entraEnv, ...env }).then(
        () => assert.fail('expected a SettingsError'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof SettingsError);
      return error.problems;
    }

    it('a tenant list without the app names ENTRA_MULTITENANT_APP_ID', async () => {
      const [problem] = await problemsWith({ ENTRA_TENANTS: contoso });
      assert.equal(problem?.setting, 'ENTRA_MULTITENANT_APP_ID');
      assert.match(problem?.problem ?? '', /missing \(needed to read the 1 tenant\(s\) in entra-tenants\)/);
    });

    it('an entry that is no tenant ID, or a tenant listed twice, names entra-tenants and every fault', async () => {
      const [problem] = await problemsWith({
        ENTRA_TENANTS: `contoso.onmicrosoft.com, ${contoso}, ${contoso.toUpperCase()}=again`,
        ENTRA_MULTITENANT_APP_ID: app,
      });
      assert.equal(problem?.setting, 'entra-tenants');
      assert.match(
        problem?.problem ?? '',
        /"contoso\.onmicrosoft\.com" is not a tenant ID; .* is listed twice/,
      );
      assert.match(
        problem?.expected ?? '',
        /tenant IDs \(GUIDs\), each optionally followed by =<display name>/,
      );
    });
  });

  it("checks the running collector's schedule only: another's bad schedule never fails it", async () => {
    const bad = { ENTRA_AUDITS_SCHEDULE: '0 0 0 32 * *', AWS_ACCESS_KEYS_SCHEDULE: 'daily' };
    const { settings } = await loadEntra({ ...entraEnv, ...bad });
    assert.equal(settings.schedule, '0 */15 * * * *');
    const audits = await loadFor('entra-audits', { ...entraEnv, ...bad }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(audits instanceof SettingsError);
    assert.match(audits.message, /ENTRA_AUDITS_SCHEDULE .*day "32" outside 1-31/);
  });

  for (const [name, value, expected] of malformed) {
    it(`rejects ${name}="${value}"`, async () => {
      const result = await loadEntra({ ...entraEnv, [name]: value }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (value === '') {
        assert.equal(result, undefined, 'a blank setting means the default');
        return;
      }
      assert.ok(result instanceof SettingsError, `${name}=${value} was accepted`);
      assert.equal(result.problems[0]?.setting, name);
      assert.match(result.message, expected);
    });
  }
});
