// The entra-users row mapping (Graph user -> EntraUsers_CL row), its query, and its CLI summary.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { toUserRow, userSelect, type GraphUser } from '../../src/sources/entra/userRows.js';
import { usersQuery } from '../../src/sources/entra/users.js';
import { userCliSummary } from '../../src/sources/entra/userSummary.js';
import { tableDefinitions } from '../../src/tables/generated.js';
import { UserDirectory } from '../emulators/graph/users.js';
import { buildWorld } from '../emulators/graph/world.js';
import { syncedMember, userSnapshot } from '../support/entraUserFixtures.js';

const snapshot = userSnapshot;

describe('toUserRow', () => {
  it('maps a synced member with sign-in activity, every column', () => {
    assert.deepEqual(toUserRow(syncedMember, snapshot), {
      TimeGenerated: '2026-11-23T05:30:00.000Z',
      SnapshotId: '5d7c2a9e-3b1f-4e8a-9c6d-0f1e2d3c4b5a',
      UserId: '87d349ed-44d7-43e1-9a83-5f2406dee5bd',
      UserPrincipalName: 'AdeleV@contoso.com',
      UserDisplayName: 'Adele Vance',
      Mail: 'AdeleV@contoso.com',
      AccountEnabled: true,
      UserType: 'Member',
      Department: 'Retail',
      JobTitle: 'Retail Manager',
      OnPremisesSamAccountName: 'avance',
      OnPremisesDomainName: 'corp.contoso.com',
      OnPremisesUserPrincipalName: 'avance@corp.contoso.com',
      OnPremisesSyncEnabled: true,
      CreatedDateTime: '2019-09-03T14:12:05.000Z',
      LastSignInDateTime: '2026-11-22T08:15:02.123Z',
      LastNonInteractiveSignInDateTime: '2026-11-23T05:01:44.000Z',
      LastSuccessfulSignInDateTime: '2026-11-23T05:01:44.000Z',
      SignInActivityCollected: true,
      AADTenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    });
  });

  it('has exactly the columns of infra/tables/EntraUsers_CL.json', () => {
    assert.deepEqual(
      Object.keys(toUserRow(syncedMember, snapshot)).sort(),
      tableDefinitions.EntraUsers_CL.columns.map((column) => column.name).sort(),
    );
  });

  it('a guest who never signed in: no signInActivity, no on-premises attributes, disabled', () => {
    const row = toUserRow(
      {
        id: 'a1b2c3d4-0000-4000-8000-000000000001',
        userPrincipalName: 'joni.sherman_fabrikam.com#EXT#@contoso.onmicrosoft.com',
        displayName: 'Joni Sherman',
        mail: 'joni.sherman@fabrikam.com',
        accountEnabled: false,
        userType: 'Guest',
        department: null,
        jobTitle: null,
        onPremisesSamAccountName: null,
        onPremisesDomainName: null,
        onPremisesUserPrincipalName: null,
        onPremisesSyncEnabled: null,
        createdDateTime: '2025-02-01T10:00:00Z',
      },
      snapshot,
    );
    assert.equal(row.UserType, 'Guest');
    assert.equal(row.AccountEnabled, false);
    assert.equal(row.OnPremisesSyncEnabled, null);
    assert.equal(row.OnPremisesSamAccountName, null);
    assert.deepEqual(
      [row.LastSignInDateTime, row.LastNonInteractiveSignInDateTime, row.LastSuccessfulSignInDateTime],
      [null, null, null],
    );
    assert.equal(row.SignInActivityCollected, true, 'read, and nothing recorded: never signed in');
  });

  it('only a non-interactive sign-in recorded, and a user no longer synchronized', () => {
    const row = toUserRow(
      {
        ...syncedMember,
        onPremisesSyncEnabled: false,
        signInActivity: {
          lastSignInDateTime: null,
          lastNonInteractiveSignInDateTime: '2026-03-12T16:24:34Z',
          lastSuccessfulSignInDateTime: '2026-03-12T16:24:34Z',
        },
      },
      snapshot,
    );
    assert.equal(row.OnPremisesSyncEnabled, false);
    assert.equal(row.OnPremisesSamAccountName, 'avance', 'on-premises attributes stay after sync stops');
    assert.equal(row.LastSignInDateTime, null);
    assert.equal(row.LastNonInteractiveSignInDateTime, '2026-03-12T16:24:34.000Z');
  });

  it('without signInActivity (licence or role missing) the Last* columns are null and say why', () => {
    const row = toUserRow(syncedMember, { ...snapshot, signInActivityCollected: false });
    assert.equal(row.SignInActivityCollected, false);
    assert.deepEqual(
      [row.LastSignInDateTime, row.LastNonInteractiveSignInDateTime, row.LastSuccessfulSignInDateTime],
      [null, null, null],
    );
    assert.equal(row.OnPremisesSamAccountName, 'avance', 'everything else is still there');
  });

  it('every row of a snapshot carries its time and ID, even an empty user', () => {
    const row = toUserRow({}, snapshot);
    assert.equal(row.TimeGenerated, snapshot.time.toISOString());
    assert.equal(row.SnapshotId, snapshot.id);
    assert.equal(row.AADTenantId, snapshot.tenantId);
    for (const [column, value] of Object.entries(row)) {
      if (['TimeGenerated', 'SnapshotId', 'AADTenantId', 'SignInActivityCollected'].includes(column))
        continue;
      assert.equal(value, null, column);
    }
  });

  it('values of the wrong type become null, not wrong values', () => {
    const row = toUserRow(
      {
        id: 42,
        accountEnabled: 'true',
        onPremisesSyncEnabled: 1,
        createdDateTime: 'last year',
        signInActivity: { lastSignInDateTime: 1_700_000_000_000 },
      } as unknown as GraphUser,
      snapshot,
    );
    assert.deepEqual(
      [
        row.UserId,
        row.AccountEnabled,
        row.OnPremisesSyncEnabled,
        row.CreatedDateTime,
        row.LastSignInDateTime,
      ],
      [null, null, null, null, null],
    );
  });

  it('maps every user the Graph emulator serves into a row of the table', () => {
    const world = buildWorld(7, snapshot.tenantId);
    const directory = new UserDirectory(world, { count: 700 });
    for (const user of directory.users) {
      const row = toUserRow(user, snapshot);
      assert.equal(row.UserId, user.id);
      assert.equal(row.OnPremisesSamAccountName, user.onPremisesSamAccountName);
      assert.equal(
        row.LastSignInDateTime !== null,
        (user.signInActivity?.lastSignInDateTime ?? null) !== null,
      );
    }
  });
});

describe('usersQuery', () => {
  it('selects every mapped property, signInActivity when asked, 999 a page (Graph’s maximum)', () => {
    const withActivity = new URL(`https://graph.microsoft.com${usersQuery(true)}`);
    assert.equal(withActivity.pathname, '/v1.0/users');
    assert.equal(withActivity.searchParams.get('$top'), '999');
    assert.deepEqual(withActivity.searchParams.get('$select')?.split(','), [...userSelect, 'signInActivity']);
    const without = new URL(`https://graph.microsoft.com${usersQuery(false)}`);
    assert.deepEqual(without.searchParams.get('$select')?.split(','), [...userSelect]);
  });
});

describe('userCliSummary', () => {
  it('counts users, enabled, guests, synced, and users with no sign-in recorded', () => {
    const summary = userCliSummary();
    summary.add([
      toUserRow(syncedMember, snapshot),
      toUserRow({ ...syncedMember, accountEnabled: false, signInActivity: null }, snapshot),
      toUserRow({ userType: 'Guest', accountEnabled: true }, snapshot),
    ]);
    const { figures } = summary.render({ all: false });
    assert.deepEqual(figures, [
      '  users                     3 (2 enabled, 1 guests)',
      '  synced from on-prem AD    2',
      '  no sign-in recorded       2',
    ]);
  });

  it('says when sign-in activity was not collected instead of counting everyone as never signed in', () => {
    const summary = userCliSummary();
    summary.add([toUserRow(syncedMember, { ...snapshot, signInActivityCollected: false })]);
    assert.match(summary.render({ all: false }).figures[2] ?? '', /not collected/);
  });
});
