import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { SettingsReader } from '../../src/config/parse.js';
import { SettingsError } from '../../src/config/settingsError.js';
import {
  parseStorageConnectionString,
  readCheckpointStorageSettings,
} from '../../src/config/checkpointSettings.js';

const devKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const accountConnectionString = `DefaultEndpointsProtocol=https;AccountName=stmonitor;AccountKey=${devKey};EndpointSuffix=core.windows.net`;
const clientId = '11111111-2222-3333-4444-555555555555';

type Env = Record<string, string | undefined>;

function read(env: Env) {
  const reader = new SettingsReader(env);
  const settings = readCheckpointStorageSettings(reader, env);
  return { settings, problems: reader.problems, reader };
}

function problemsOf(env: Env) {
  const { settings, problems } = read(env);
  assert.equal(settings, undefined, 'settings with problems must be undefined');
  assert.ok(problems.length > 0, 'expected problems');
  return { problems, message: new SettingsError(problems).message };
}

describe('readCheckpointStorageSettings', () => {
  describe('connection string (AzureWebJobsStorage)', () => {
    it('accepts UseDevelopmentStorage=true with the default table', () => {
      const { settings, problems } = read({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
      assert.deepEqual(problems, []);
      assert.deepEqual(settings, {
        kind: 'connection-string',
        connectionString: 'UseDevelopmentStorage=true',
        tableName: 'checkpoints',
      });
    });

    it('accepts an account connection string, an Azurite one, and a SAS one', () => {
      for (const connectionString of [
        accountConnectionString,
        `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${devKey};TableEndpoint=http://127.0.0.1:51234/devstoreaccount1;`,
        'TableEndpoint=https://stmonitor.table.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=t&sig=abc',
      ]) {
        const { settings, problems } = read({ AzureWebJobsStorage: connectionString });
        assert.deepEqual(problems, [], connectionString);
        assert.deepEqual(settings, { kind: 'connection-string', connectionString, tableName: 'checkpoints' });
      }
    });

    it('wins over identity-based settings, like in the Functions host', () => {
      const { settings } = read({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AzureWebJobsStorage__tableServiceUri: 'https://other.table.core.windows.net',
      });
      assert.equal(settings?.kind, 'connection-string');
    });

    const malformed: [string, string, RegExp][] = [
      ['not key=value', 'garbage', /is not a connection string/],
      [
        'no credentials',
        'DefaultEndpointsProtocol=https;AccountName=stmonitor',
        /neither AccountName and AccountKey nor/,
      ],
      ['no endpoint at all', `AccountKey=${devKey}`, /neither TableEndpoint nor AccountName/],
      ['SAS without endpoint', 'SharedAccessSignature=sv=1&sig=abc', /neither TableEndpoint nor AccountName/],
      [
        'http to a remote host',
        `DefaultEndpointsProtocol=http;AccountName=stmonitor;AccountKey=${devKey}`,
        /not https \("http:\/\/stmonitor\.table\.core\.windows\.net"; plain http is allowed only for a local emulator\)/,
      ],
      [
        'bad protocol',
        `DefaultEndpointsProtocol=ftp;AccountName=x;AccountKey=${devKey}`,
        /DefaultEndpointsProtocol "ftp"/,
      ],
      [
        'endpoint not a URL',
        `AccountName=x;AccountKey=${devKey};TableEndpoint=nope`,
        /TableEndpoint that is not a URL/,
      ],
      [
        'SAS in the endpoint',
        `AccountName=x;AccountKey=${devKey};TableEndpoint=https://x.table.core.windows.net/?sig=1`,
        /query string/,
      ],
    ];
    for (const [label, value, problem] of malformed) {
      it(`reports a malformed connection string (${label}) without echoing it`, () => {
        const { problems, message } = problemsOf({ AzureWebJobsStorage: value });
        assert.equal(problems.length, 1);
        assert.equal(problems[0]?.setting, 'AzureWebJobsStorage');
        assert.match(problems[0]?.problem ?? '', problem);
        assert.match(
          message,
          /^Setting AzureWebJobsStorage .*: expected UseDevelopmentStorage=true, or a storage/,
        );
        assert.doesNotMatch(message, /Eby8vdM0|sig=/, 'secrets must not appear in the problem');
      });
    }
  });

  describe('identity-based connection', () => {
    it('reports the missing table endpoint when nothing is set', () => {
      const { problems, message } = problemsOf({});
      assert.deepEqual(problems, [
        {
          setting: 'AzureWebJobsStorage__tableServiceUri',
          problem: 'is missing',
          expected:
            "the function app storage account's table endpoint, https://<account>.table.core.windows.net " +
            '(identity-based connection), or AzureWebJobsStorage as a connection string for local runs',
        },
      ]);
      assert.equal(
        message,
        "Setting AzureWebJobsStorage__tableServiceUri is missing: expected the function app storage account's " +
          'table endpoint, https://<account>.table.core.windows.net (identity-based connection), or ' +
          'AzureWebJobsStorage as a connection string for local runs.',
      );
    });

    it('treats blank values as missing', () => {
      const { problems } = problemsOf({
        AzureWebJobsStorage: '  ',
        AzureWebJobsStorage__tableServiceUri: '',
        AzureWebJobsStorage__accountName: ' ',
      });
      assert.deepEqual(
        problems.map((p) => [p.setting, p.problem]),
        [['AzureWebJobsStorage__tableServiceUri', 'is missing']],
      );
    });

    it('names the identity-based settings that give no table endpoint', () => {
      const { problems } = problemsOf({
        AzureWebJobsStorage__blobServiceUri: 'https://stmonitor.blob.core.windows.net',
        AzureWebJobsStorage__queueServiceUri: 'https://stmonitor.queue.core.windows.net',
        AzureWebJobsStorage__credential: 'managedidentity',
      });
      assert.equal(problems.length, 1);
      assert.equal(
        problems[0]?.problem,
        'is missing (AzureWebJobsStorage__blobServiceUri, AzureWebJobsStorage__credential, ' +
          'AzureWebJobsStorage__queueServiceUri are set, but give no table endpoint; ' +
          'AzureWebJobsStorage__accountName would)',
      );
    });

    it('names a single identity-based setting that gives no table endpoint', () => {
      const { problems } = problemsOf({
        AzureWebJobsStorage__blobServiceUri: 'https://stmonitor.blob.core.windows.net',
      });
      assert.match(
        problems[0]?.problem ?? '',
        /\(AzureWebJobsStorage__blobServiceUri is set, but gives no table endpoint;/,
      );
    });

    it('uses AzureWebJobsStorage__tableServiceUri, without a trailing slash', () => {
      const { settings, problems } = read({
        AzureWebJobsStorage__tableServiceUri: 'https://stmonitor.table.core.windows.net/',
      });
      assert.deepEqual(problems, []);
      assert.deepEqual(settings, {
        kind: 'identity',
        tableServiceUri: 'https://stmonitor.table.core.windows.net',
        tableName: 'checkpoints',
      });
    });

    it('derives the endpoint from AzureWebJobsStorage__accountName, with a client ID', () => {
      const { settings, problems } = read({
        AzureWebJobsStorage__accountName: 'stmonitor01',
        AzureWebJobsStorage__clientId: clientId,
        CHECKPOINT_TABLE: 'Checkpoints2',
      });
      assert.deepEqual(problems, []);
      assert.deepEqual(settings, {
        kind: 'identity',
        tableServiceUri: 'https://stmonitor01.table.core.windows.net',
        clientId,
        tableName: 'Checkpoints2',
      });
    });

    it('prefers tableServiceUri over accountName', () => {
      const { settings } = read({
        AzureWebJobsStorage__tableServiceUri: 'https://custom.table.core.chinacloudapi.cn',
        AzureWebJobsStorage__accountName: 'BAD NAME',
      });
      assert.equal(
        settings?.kind === 'identity' && settings.tableServiceUri,
        'https://custom.table.core.chinacloudapi.cn',
      );
    });

    const malformed: [Env, string, RegExp][] = [
      [
        { AzureWebJobsStorage__tableServiceUri: 'stmonitor' },
        'AzureWebJobsStorage__tableServiceUri',
        /is not a URL \("stmonitor"\)/,
      ],
      [
        { AzureWebJobsStorage__tableServiceUri: 'http://stmonitor.table.core.windows.net' },
        'AzureWebJobsStorage__tableServiceUri',
        /must use https/,
      ],
      [
        { AzureWebJobsStorage__accountName: 'St-Monitor' },
        'AzureWebJobsStorage__accountName',
        /is malformed \("St-Monitor"\)/,
      ],
      [{ AzureWebJobsStorage__accountName: 'ab' }, 'AzureWebJobsStorage__accountName', /is malformed/],
      [
        { AzureWebJobsStorage__accountName: 'a'.repeat(25) },
        'AzureWebJobsStorage__accountName',
        /is malformed/,
      ],
      [
        { AzureWebJobsStorage__accountName: 'stmonitor', AzureWebJobsStorage__clientId: 'not-a-guid' },
        'AzureWebJobsStorage__clientId',
        /is malformed \("not-a-guid"\)/,
      ],
    ];
    for (const [env, setting, problem] of malformed) {
      it(`reports malformed ${setting} (${JSON.stringify(Object.values(env))})`, () => {
        const { problems } = problemsOf(env);
        assert.deepEqual(
          problems.map((p) => p.setting),
          [setting],
        );
        assert.match(problems[0]?.problem ?? '', problem);
        assert.ok((problems[0]?.expected ?? '').length > 10, 'says what was expected');
      });
    }

    it('says what a malformed account name should look like', () => {
      const { message } = problemsOf({ AzureWebJobsStorage__accountName: 'St-Monitor' });
      assert.match(message, /expected the storage account name: 3 to 24 lowercase letters and digits/);
    });
  });

  describe('CHECKPOINT_TABLE', () => {
    const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

    it('defaults to "checkpoints" when missing or blank', () => {
      assert.equal(read(base).settings?.tableName, 'checkpoints');
      assert.equal(read({ ...base, CHECKPOINT_TABLE: ' ' }).settings?.tableName, 'checkpoints');
    });

    it('accepts 3 to 63 letters and digits starting with a letter', () => {
      for (const name of ['abc', 'Checkpoints', 'cp2024', `a${'b1'.repeat(31)}`]) {
        assert.equal(read({ ...base, CHECKPOINT_TABLE: name }).settings?.tableName, name, name);
      }
    });

    for (const name of [
      'ab',
      '1checkpoints',
      'check-points',
      'check_points',
      'tables',
      'Tables',
      `a${'b'.repeat(63)}`,
    ]) {
      it(`rejects "${name}"`, () => {
        const { problems, message } = problemsOf({ ...base, CHECKPOINT_TABLE: name });
        assert.deepEqual(
          problems.map((p) => [p.setting, p.problem]),
          [['CHECKPOINT_TABLE', `is malformed ("${name}")`]],
        );
        assert.match(
          message,
          /expected an Azure table name: 3 to 63 letters and digits starting with a letter/,
        );
        assert.match(message, /default checkpoints/);
      });
    }
  });

  it('reports every problem at once', () => {
    const { problems } = problemsOf({
      CHECKPOINT_TABLE: 'x',
      AzureWebJobsStorage__clientId: 'nope',
    });
    assert.deepEqual(problems.map((p) => p.setting).sort(), [
      'AzureWebJobsStorage__clientId',
      'AzureWebJobsStorage__tableServiceUri',
      'CHECKPOINT_TABLE',
    ]);
  });

  it("does not fail on other settings' earlier problems", () => {
    const env = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
    const reader = new SettingsReader(env);
    reader.problems.push({ setting: 'OTHER', problem: 'is missing', expected: 'something' });
    assert.equal(readCheckpointStorageSettings(reader, env)?.kind, 'connection-string');
    assert.equal(reader.problems.length, 1);
  });
});

describe('parseStorageConnectionString', () => {
  it('maps UseDevelopmentStorage=true to the emulator account on port 10002', () => {
    assert.deepEqual(parseStorageConnectionString('UseDevelopmentStorage=true'), {
      ok: true,
      tableEndpoint: 'http://127.0.0.1:10002/devstoreaccount1',
      credential: { kind: 'shared-key', accountName: 'devstoreaccount1', accountKey: devKey },
    });
  });

  it('builds the endpoint from protocol, account and suffix; keys are case-insensitive', () => {
    assert.deepEqual(parseStorageConnectionString(`accountname=acct;ACCOUNTKEY=${devKey}`), {
      ok: true,
      tableEndpoint: 'https://acct.table.core.windows.net',
      credential: { kind: 'shared-key', accountName: 'acct', accountKey: devKey },
    });
    const sovereign = parseStorageConnectionString(
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${devKey};EndpointSuffix=core.usgovcloudapi.net`,
    );
    assert.equal(sovereign.ok && sovereign.tableEndpoint, 'https://acct.table.core.usgovcloudapi.net');
  });

  it('keeps "=" inside values (base64 keys, SAS tokens)', () => {
    const parsed = parseStorageConnectionString(
      'TableEndpoint=https://acct.table.core.windows.net;SharedAccessSignature=?sv=2022&sig=a%3D=',
    );
    assert.deepEqual(parsed, {
      ok: true,
      tableEndpoint: 'https://acct.table.core.windows.net',
      credential: { kind: 'sas', signature: 'sv=2022&sig=a%3D=' },
    });
  });
});
