import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { Host } from './settings.js';

/**
 * The deployed app authenticates only as its user-assigned managed identity; a terminal uses whatever
 * the developer is signed in with (az login, azd, VS Code, environment), preferring that identity.
 */
export function azureCredentialFor(host: Host, clientId: string | undefined): TokenCredential {
  if (host === 'function') {
    return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}
