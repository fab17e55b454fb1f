import type { TokenCredential } from '@azure/core-auth';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { SourceStats } from '../../run/collector.js';
import { countApiCalls } from './apiCallCounter.js';

export interface WebIdentityFederationOptions {
  /** The managed identity (or, locally, any Entra credential). */
  readonly tokenCredential: TokenCredential;
  /** Application ID URI of the Entra app AWS trusts: the token's `aud`. */
  readonly audience: string;
  readonly roleArn: string;
  /** Shows up in CloudTrail: which collector and which run assumed the role. */
  readonly roleSessionName: string;
  readonly region: string;
  /** Role chaining caps later hops at 1 h; the default keeps every session within it. */
  readonly durationSeconds?: number;
  readonly stats?: SourceStats;
}

/**
 * AWS credentials from the managed identity. Unlike `fromWebToken`, whose token string is fixed at
 * creation and goes stale, each refresh asks Entra for a token again before calling STS. The SDK
 * clients memoize the result and call this again shortly before the credentials expire.
 */
export function webIdentityFederation(options: WebIdentityFederationOptions): AwsCredentialIdentityProvider {
  const sts = new STSClient({ region: options.region, retryMode: 'adaptive', maxAttempts: 5 });
  if (options.stats) countApiCalls(sts, options.stats);
  const scope = `${options.audience.replace(/\/+$/, '')}/.default`;

  return async (): Promise<AwsCredentialIdentity> => {
    const token = await options.tokenCredential.getToken(scope);
    if (!token) throw new Error(`The managed identity returned no token for ${scope}`);
    let response;
    try {
      response = await sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: options.roleArn,
          RoleSessionName: options.roleSessionName,
          WebIdentityToken: token.token,
          DurationSeconds: options.durationSeconds ?? 3600,
        }),
      );
    } catch (error) {
      throw federationError(options, error);
    }
    const credentials = response.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
      throw new Error(`STS AssumeRoleWithWebIdentity for ${options.roleArn} returned no credentials`);
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
    };
  };
}

function federationError(options: WebIdentityFederationOptions, error: unknown): Error {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    name === 'AccessDenied' || name === 'InvalidIdentityToken' || name === 'IDPRejectedClaim'
      ? `; check that the role trusts the OIDC provider sts.windows.net/<tenant-id>/ with aud = ${options.audience} and sub = the managed identity's principal ID (infra/aws)`
      : '';
  const wrapped = new Error(
    `STS AssumeRoleWithWebIdentity for ${options.roleArn} failed: ${name}: ${message}${hint}`,
  );
  wrapped.name = name;
  return wrapped;
}
