import type { GraphUser, UserSnapshot } from '../../src/sources/entra/userRows.js';

/** A users snapshot as the entra-users collector stamps its rows. */
export const userSnapshot: UserSnapshot = {
  id: '5d7c2a9e-3b1f-4e8a-9c6d-0f1e2d3c4b5a',
  time: new Date('2026-11-23T05:30:00.000Z'),
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  signInActivityCollected: true,
};

/**
 * Shaped like Graph's answer to the collector's $select (v1.0 user resource): an on-premises synced member
 * with every sign-in time, one of them with 7 fractional digits.
 */
export const syncedMember: GraphUser = {
  id: '87d349ed-44d7-43e1-9a83-5f2406dee5bd',
  userPrincipalName: 'AdeleV@contoso.com',
  displayName: 'Adele Vance',
  mail: 'AdeleV@contoso.com',
  accountEnabled: true,
  userType: 'Member',
  department: 'Retail',
  jobTitle: 'Retail Manager',
  onPremisesSamAccountName: 'avance',
  onPremisesDomainName: 'corp.contoso.com',
  onPremisesUserPrincipalName: 'avance@corp.contoso.com',
  onPremisesSyncEnabled: true,
  createdDateTime: '2019-09-03T14:12:05Z',
  signInActivity: {
    lastSignInDateTime: '2026-11-22T08:15:02.1234567Z',
    lastNonInteractiveSignInDateTime: '2026-11-23T05:01:44Z',
    lastSuccessfulSignInDateTime: '2026-11-23T05:01:44Z',
  },
};
