import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { newSourceStats, type ReadOutcome } from '../src/run/collector.js';
import type { AWSIAMAccessKeysRow } from '../src/tables/generated.js';
import { silentLogger } from '../src/lib/logger.js';
import { awsAccessKeysCollector } from '../src/sources/aws/accessKeysCollector.js';
import { startAwsProxy } from '../test/emulators/awsProxy.js';
import type { MotoServer } from '../test/emulators/moto.js';
import { realisticAccount } from '../test/support/seedAccount.js';

export interface OrganizationBenchOptions {
  readonly accounts: number;
  readonly usersPerAccount: number;
  readonly latencyMs: number;
  readonly accountConcurrency: number;
}

export interface OrganizationBenchRun {
  readonly accountConcurrency: number;
  readonly keys: number;
  readonly apiCalls: number;
  readonly wallMs: number;
  readonly failures: number;
}

export interface OrganizationBenchResult {
  readonly accounts: number;
  readonly usersPerAccount: number;
  readonly keys: number;
  readonly latencyMs: number;
  readonly sequential: OrganizationBenchRun;
  readonly concurrent: OrganizationBenchRun;
  readonly wallTimeRatio: number;
}

const memberRoleName = 'crosscloud-identity-monitor-member';
const credentials = () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' });

/** An organization in moto: the same inventory with accounts one at a time, then several at once. */
export async function benchAwsOrganization(
  moto: MotoServer,
  options: OrganizationBenchOptions,
): Promise<OrganizationBenchResult> {
  await moto.reset();
  const organizations = new OrganizationsClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials,
  });
  await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const accountIds = ['123456789012'];
  for (let i = 1; i < options.accounts; i += 1) {
    const created = await organizations.send(
      new CreateAccountCommand({ AccountName: `workload-${i}`, Email: `aws+workload-${i}@example.com` }),
    );
    accountIds.push(created.CreateAccountStatus?.AccountId ?? '');
  }
  organizations.destroy();
  let keys = 0;
  for (const [index, accountId] of accountIds.entries()) {
    const spec = realisticAccount({
      users: options.usersPerAccount,
      seed: 1000 + index,
      accountId,
      withKeys: 0.8,
    });
    const seeded = await moto.seedIam({ ...spec, roles: [{ name: memberRoleName }] });
    keys += seeded.users.reduce((sum, user) => sum + user.keys.length, 0);
  }

  const proxy = await startAwsProxy(moto.endpoint, { latencyMs: options.latencyMs });
  const previous = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = proxy.endpoint;
  const run = async (accountConcurrency: number): Promise<OrganizationBenchRun> => {
    const stats = newSourceStats();
    const collector = awsAccessKeysCollector({
      credentialsFor: () => credentials,
      region: 'us-east-1',
      accessKeyIdMode: 'masked',
      concurrency: 8,
      organization: {
        memberRoleName,
        accounts: { include: [], exclude: [] },
        accountConcurrency,
        budgetMs: Number.POSITIVE_INFINITY,
      },
      reportWait: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
    });
    const started = performance.now();
    let rows = 0;
    const read = collector.read({ runId: 'bench', startTime: new Date(), stats, log: silentLogger });
    // By hand, not for await: the read's return value says which accounts failed.
    const iterator = read[Symbol.asyncIterator]();
    let outcome: ReadOutcome = {};
    for (;;) {
      const next: IteratorResult<AWSIAMAccessKeysRow, unknown> = await iterator.next();
      if (next.done === true) {
        if (typeof next.value === 'object' && next.value !== null) outcome = next.value;
        break;
      }
      if (next.value.AccountId !== null) rows += 1;
    }
    return {
      accountConcurrency,
      keys: rows,
      apiCalls: stats.apiCalls,
      wallMs: performance.now() - started,
      failures: outcome.partialFailures?.length ?? 0,
    };
  };
  try {
    const sequential = await run(1);
    const concurrent = await run(options.accountConcurrency);
    return {
      accounts: options.accounts,
      usersPerAccount: options.usersPerAccount,
      keys,
      latencyMs: options.latencyMs,
      sequential,
      concurrent,
      wallTimeRatio: sequential.wallMs / concurrent.wallMs,
    };
  } finally {
    if (previous === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = previous;
    await proxy.stop();
  }
}
