import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import {
  CredentialReportUnavailableError,
  parseCredentialReport,
} from '../../src/sources/aws/credentialReport.js';

const header =
  'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,' +
  'access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,' +
  'access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,' +
  'cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated';

describe('credential report parsing', () => {
  it('reads key slots, last use, MFA and password flags; N/A means none', async () => {
    const csv = [
      header,
      '<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,' +
        'true,2016-02-03T04:05:06+00:00,2026-11-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
      'alice,arn:aws:iam::123456789012:user/alice,2018-05-06T07:08:09+00:00,true,N/A,N/A,N/A,false,' +
        'true,2019-01-02T03:04:05+00:00,N/A,N/A,N/A,false,2020-06-07T08:09:10+00:00,2021-01-01T12:00:00+00:00,eu-west-1,ec2,false,N/A,false,N/A',
      'bob,arn:aws:iam::123456789012:user/bob,2022-01-01T00:00:00+00:00,false,N/A,N/A,N/A,true,' +
        'false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
    ].join('\n');
    const users = await parseCredentialReport(csv);
    assert.equal(users.size, 3);

    const alice = users.get('alice');
    assert.ok(alice);
    assert.equal(alice.passwordEnabled, true);
    assert.equal(alice.mfaActive, false);
    assert.equal(alice.userCreationTime?.toISOString(), '2018-05-06T07:08:09.000Z');
    assert.deepEqual(
      alice.keys.map((k) => [
        k.slot,
        k.active,
        k.lastRotated.toISOString(),
        k.lastUsedDate?.toISOString(),
        k.lastUsedRegion,
        k.lastUsedService,
      ]),
      [
        [1, true, '2019-01-02T03:04:05.000Z', undefined, undefined, undefined],
        [2, false, '2020-06-07T08:09:10.000Z', '2021-01-01T12:00:00.000Z', 'eu-west-1', 'ec2'],
      ],
    );
    assert.deepEqual(users.get('bob')?.keys, []);
    const root = users.get('<root_account>');
    assert.equal(root?.passwordEnabled, undefined, 'not_supported is unknown, not false');
    assert.equal(root?.keys.length, 1);
  });

  it('copes with quoted fields, unexpected extra columns, a byte-order mark and no user rows', async () => {
    const csv = [
      `${header},some_future_column`,
      '"o\'brien,jr",arn:aws:iam::123456789012:user/x,2018-05-06T07:08:09+00:00,false,N/A,N/A,N/A,false,' +
        'true,2019-01-02T03:04:05+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A,"a, b"',
    ].join('\n');
    const users = await parseCredentialReport(csv);
    assert.equal(users.get("o'brien,jr")?.keys.length, 1);
    assert.equal((await parseCredentialReport(`\uFEFF${csv}`)).get("o'brien,jr")?.keys.length, 1);
    assert.equal((await parseCredentialReport(`${header}\n`)).size, 0, 'an account without users');
  });

  it('refuses a report without the columns it needs, so the run falls back to API calls', async () => {
    await assert.rejects(
      parseCredentialReport('user,arn\nalice,arn:aws:iam::1:user/alice\n'),
      (error: unknown) => {
        assert.ok(error instanceof CredentialReportUnavailableError);
        assert.match(error.message, /lacks columns .*access_key_1_last_rotated/);
        return true;
      },
    );
  });

  const row = (user: string, keySlot1: string) =>
    `${user},arn:aws:iam::123456789012:user/${user},2018-05-06T07:08:09+00:00,false,N/A,N/A,N/A,false,` +
    `${keySlot1},false,N/A,N/A,N/A,N/A,false,N/A,false,N/A`;
  const alice = row('alice', 'true,2019-01-02T03:04:05+00:00,N/A,N/A,N/A');

  // Each of these once failed the run, or worse, made users with keys look keyless.
  const unusable: [string, string, RegExp][] = [
    [
      'a row wider than the header',
      [header, alice, `${row('bob', 'false,N/A,N/A,N/A,N/A')},extra`].join('\n'),
      /not a CSV we can read \(CSV_RECORD_INCONSISTENT_COLUMNS/,
    ],
    [
      'a row narrower than the header',
      [header, alice.split(',').slice(0, 10).join(',')].join('\n'),
      /CSV_RECORD_INCONSISTENT_COLUMNS/,
    ],
    ['an unclosed quote', [header, `"alice,${alice.slice(6)}`].join('\n'), /not a CSV we can read/],
    ['JSON', '{"Users": [{"UserName": "alice"}]}', /not a CSV we can read \(INVALID_OPENING_QUOTE/],
    ['a header and nothing it needs', 'user,arn,mfa_active\n', /lacks columns user_creation_time/],
    ['nothing but blank lines', '\n\n  \n', /the credential report is empty/],
    [
      'a rotation date that is not a date',
      [header, row('alice', 'true,last tuesday,N/A,N/A,N/A')].join('\n'),
      /row 1 of the credential report has access_key_1_last_rotated neither a date nor N\/A/,
    ],
    [
      'an MFA flag that is not a flag',
      [header, alice.replace(',false,true,2019', ',yes,true,2019')].join('\n'),
      /row 1 .* mfa_active neither true nor false/,
    ],
  ];
  for (const [what, csv, reason] of unusable) {
    it(`refuses ${what} as unusable (the run falls back), saying why`, async () => {
      await assert.rejects(parseCredentialReport(csv), (error: unknown) => {
        assert.ok(error instanceof CredentialReportUnavailableError, `${String(error)}`);
        assert.match(error.message, reason);
        return true;
      });
    });
  }
});
