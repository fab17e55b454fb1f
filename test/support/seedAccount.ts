import type { SeedIamSpec, SeedResult, SeedUser } from '../emulators/moto.js';

/** Deterministic pseudo-random numbers (mulberry32): the same seed gives the same account. */
export function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const dayMs = 86_400_000;
const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'];
const services = ['s3', 'ec2', 'sts', 'iam', 'lambda', 'dynamodb'];

export interface AccountShape {
  readonly users: number;
  readonly seed?: number;
  readonly now?: Date;
  readonly accountId?: string;
  readonly accountAlias?: string;
  /** Share of users with at least one key (default 0.7). */
  readonly withKeys?: number;
}

/**
 * A realistic IAM account: keys up to six years old, about a fifth never used, some inactive, a
 * quarter of users without MFA, some with two keys. Dates are whole seconds and whole-day-plus-hours
 * old, so ages in days do not flip between two runs of a test.
 */
export function realisticAccount(shape: AccountShape): SeedIamSpec {
  const random = randomFrom(shape.seed ?? 42);
  const now = shape.now ?? new Date();
  const ago = (days: number): string =>
    new Date(Math.floor((now.getTime() - days * dayMs - 3_600_000) / 1000) * 1000).toISOString();
  const users: SeedUser[] = [];
  for (let i = 0; i < shape.users; i += 1) {
    const userAgeDays = 30 + Math.floor(random() * 2500);
    const keyCount = random() < (shape.withKeys ?? 0.7) ? (random() < 0.15 ? 2 : 1) : 0;
    const keys = Array.from({ length: keyCount }, (_, slot) => {
      // A second key is always younger: two keys created in the same second cannot be told apart in
      // the credential report (IAM only gives their creation time).
      const keyAgeDays = Math.floor(random() * userAgeDays * (slot === 0 ? 1 : 0.5));
      const neverUsed = random() < 0.2;
      return {
        createDate: ago(keyAgeDays),
        status: random() < 0.1 ? ('Inactive' as const) : ('Active' as const),
        lastUsed: neverUsed
          ? null
          : {
              date: ago(Math.floor(random() * keyAgeDays)),
              region: regions[Math.floor(random() * regions.length)] ?? 'us-east-1',
              service: services[Math.floor(random() * services.length)] ?? 's3',
            },
      };
    });
    users.push({
      name: `user-${String(i).padStart(5, '0')}`,
      createDate: ago(userAgeDays),
      passwordEnabled: random() < 0.6,
      mfaActive: random() >= 0.25,
      keys,
    });
  }
  return { accountId: shape.accountId, accountAlias: shape.accountAlias, users };
}

/** What a correct inventory must report for a seeded account, keyed by user name and full key ID. */
export interface ExpectedKey {
  readonly userName: string;
  readonly accessKeyId: string;
  readonly status: string;
  readonly createDate: string;
  readonly lastUsedDate: string | null;
  readonly lastUsedRegion: string | null;
  readonly lastUsedService: string | null;
  readonly mfaActive: boolean;
  readonly passwordEnabled: boolean;
  readonly userCreateDate: string | null;
}

export function expectedKeys(spec: SeedIamSpec, result: SeedResult): ExpectedKey[] {
  const seededUsers = new Map(result.users.map((user) => [user.name, user]));
  return spec.users.flatMap((user) =>
    (user.keys ?? []).map((key, index): ExpectedKey => {
      const seeded = seededUsers.get(user.name)?.keys[index];
      if (!seeded) throw new Error(`seed result lacks key ${index} of ${user.name}`);
      return {
        userName: user.name,
        accessKeyId: seeded.accessKeyId,
        status: key.status ?? 'Active',
        createDate: new Date(seeded.createDate).toISOString(),
        lastUsedDate: key.lastUsed ? new Date(key.lastUsed.date).toISOString() : null,
        lastUsedRegion: key.lastUsed?.region ?? null,
        lastUsedService: key.lastUsed?.service ?? null,
        mfaActive: user.mfaActive ?? false,
        passwordEnabled: user.passwordEnabled ?? false,
        userCreateDate: user.createDate ? new Date(user.createDate).toISOString() : null,
      };
    }),
  );
}
