import type { CollectorSummary } from '../../run/collectorDeclaration.js';
import type { EntraUsersRow } from '../../tables/generated.js';

/** What the CLI prints after an entra-users run: the snapshot's users counted by what matters to a reviewer. */
export function userCliSummary(): CollectorSummary<'EntraUsers_CL'> {
  let users = 0;
  let enabled = 0;
  let guests = 0;
  let synced = 0;
  let neverSignedIn = 0;
  let signInActivityCollected = true;
  return {
    add(rows: readonly EntraUsersRow[]) {
      for (const row of rows) {
        users += 1;
        if (row.AccountEnabled === true) enabled += 1;
        if (row.UserType === 'Guest') guests += 1;
        if (row.OnPremisesSyncEnabled === true) synced += 1;
        if (row.SignInActivityCollected !== true) signInActivityCollected = false;
        else if (
          row.LastSignInDateTime === null &&
          row.LastNonInteractiveSignInDateTime === null &&
          row.LastSuccessfulSignInDateTime === null
        )
          neverSignedIn += 1;
      }
    },
    render() {
      return {
        figures: [
          `  users                     ${users} (${enabled} enabled, ${guests} guests)`,
          `  synced from on-prem AD    ${synced}`,
          signInActivityCollected
            ? `  no sign-in recorded       ${neverSignedIn}`
            : '  no sign-in recorded       not collected (see the warning)',
        ],
        details: [],
      };
    },
  };
}
