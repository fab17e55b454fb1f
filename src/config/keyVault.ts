import type { TokenCredential } from '@azure/core-auth';
import { SecretClient } from '@azure/keyvault-secrets';
import { isRestError } from '@azure/core-rest-pipeline';
import { describeError } from '../lib/redact.js';
import { SettingsError, type SettingProblem } from './settingsError.js';

/**
 * Reads the named secrets through the managed identity; every unreadable one is reported at once.
 * Settings that name or unlock an external system live in Key Vault, so the app's config holds none:
 * each collector declares the ones it reads (its settings reader).
 */
export async function readVaultSecrets(
  vaultUri: string,
  credential: TokenCredential,
  names: readonly string[],
  /** Secrets that may be absent (a 404 is no problem): they switch on optional behaviour. */
  optional: readonly string[] = [],
): Promise<Map<string, string>> {
  const client = new SecretClient(vaultUri, credential, {
    // The SDK checks that the vault's 401 challenge names a resource whose domain the vault host is
    // under; a loopback vault (local emulator) has no such domain. Every real vault keeps the check.
    disableChallengeResourceVerification: isLoopback(vaultUri),
  });
  const values = new Map<string, string>();
  const problems: SettingProblem[] = [];
  for (const name of names) {
    try {
      const secret = await client.getSecret(name);
      if (secret.value?.trim()) values.set(name, secret.value.trim());
      else
        problems.push({ setting: name, problem: `is empty in Key Vault ${vaultUri}`, expected: 'a value' });
    } catch (error) {
      if (optional.includes(name) && isRestError(error) && error.statusCode === 404) continue;
      problems.push(vaultProblem(vaultUri, name, error));
    }
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return values;
}

function vaultProblem(vaultUri: string, name: string, error: unknown): SettingProblem {
  const status = isRestError(error) ? error.statusCode : undefined;
  if (status === 404) {
    return {
      setting: name,
      problem: `is not in Key Vault ${vaultUri}`,
      expected: `a secret named ${name} (az keyvault secret set --vault-name <vault> --name ${name} --value <value>)`,
    };
  }
  if (status === 401 || status === 403) {
    return {
      setting: name,
      problem: `could not be read from Key Vault ${vaultUri} (HTTP ${status})`,
      expected: "the function's managed identity to hold the 'Key Vault Secrets User' role on the vault",
    };
  }
  const message = describeError(error).split('\n')[0];
  return {
    setting: name,
    problem: `could not be read from Key Vault ${vaultUri} (${message})`,
    expected: 'a reachable vault',
  };
}

function isLoopback(uri: string): boolean {
  const host = new URL(uri).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
