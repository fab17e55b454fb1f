import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { describeError, maskAccessKeyId, redact } from '../../src/lib/redact.js';

describe('redact', () => {
  const jwt =
    'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcGk6Ly94Iiwic3ViIjoiYWJjIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const secretKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

  it('removes JWTs, bearer tokens, SAS signatures and AWS secrets', () => {
    const text = `token=${jwt} Authorization: Bearer abc.def-ghi sig=AbC%2Bdef&se=2026 secret ${secretKey} session ${'A'.repeat(120)}`;
    const scrubbed = redact(text);
    assert.ok(!scrubbed.includes(jwt));
    assert.ok(!scrubbed.includes('abc.def-ghi'));
    assert.ok(!scrubbed.includes('AbC%2Bdef'));
    assert.ok(!scrubbed.includes(secretKey));
    assert.ok(!scrubbed.includes('A'.repeat(120)));
    assert.match(scrubbed, /se=2026/, 'harmless text stays');
  });

  it('masks full access key IDs to their first and last four characters', () => {
    assert.equal(redact('key AKIAIOSFODNN7EXAMPLE used'), 'key AKIA…MPLE used');
    assert.equal(redact('ASIAY34FZKBOKMUTVV7A'), 'ASIA…VV7A');
    assert.equal(maskAccessKeyId('AKIAIOSFODNN7EXAMPLE'), 'AKIA…MPLE');
  });

  it('keeps ordinary messages, ARNs and dates intact', () => {
    const text = 'User arn:aws:iam::123456789012:user/alice denied at 2026-11-23T10:00:00.000Z (HTTP 403)';
    assert.equal(redact(text), text);
  });

  it("says each of a credential chain's reasons once", () => {
    const reasons = ['EnvironmentCredential is unavailable.', 'Azure CLI could not be found.'];
    const chained = Object.assign(
      new Error(`ChainedTokenCredential authentication failed.\n${reasons.join('\n')}`),
      { errors: reasons.map((r) => new Error(r)) },
    );
    for (const reason of reasons) assert.equal(describeError(chained).split(reason).length - 1, 1, reason);
    const aggregate = new AggregateError(
      [new Error('first'), new Error('second'), new Error('first')],
      'all failed',
    );
    assert.equal(describeError(aggregate), 'all failed (first; second)');
  });

  it('describes errors with their code and scrubbed message', () => {
    const error = Object.assign(new Error(`request had Bearer ${jwt}`), { code: 'AuthenticationFailed' });
    const described = describeError(error);
    assert.match(described, /^AuthenticationFailed: request had Bearer \[redacted-token\]$/);
  });
});
