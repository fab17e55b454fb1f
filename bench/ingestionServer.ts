// Child process for the pipeline bench: the ingestion emulator (and the token issuer it trusts) in
// its own process, checking the protocol but, at full size, not parsing records (see parseRecords;
// `--parse-records` turns it on, as the smoke run does). Prints one JSON line when ready and one with
// what it accepted when its stdin closes.
import { tableDefinitions } from '../src/tables/generated.js';
import { startLogsIngestionEmulator } from '../test/emulators/logsIngestion.js';
import { startManagedIdentityEmulator } from '../test/emulators/managedIdentity.js';
import { tokenFromIdentityEndpoint } from './support.js';

const identity = await startManagedIdentityEmulator({
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '0c5a3b1e-7f3d-4b8e-9a51-3e2f6d8c9b10',
  principalId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
});
const ingestion = await startLogsIngestionEmulator({
  identity,
  dcrImmutableId: 'dcr-00112233445566778899aabbccddeeff',
  retainFields: [],
  parseRecords: process.argv.includes('--parse-records'),
});
const token = await tokenFromIdentityEndpoint(identity.env(), 'https://monitor.azure.com');
process.stdout.write(
  `${JSON.stringify({ endpoint: ingestion.endpoint, dcrImmutableId: ingestion.dcrImmutableId, token })}\n`,
);

// Exit with the parent: it closes our stdin when done (or dies).
process.stdin.resume();
process.stdin.on('end', () => {
  // The sign-ins only: the run's CollectorRuns_CL row goes through the same emulator.
  const signIns = ingestion.requests.filter(
    (request) => request.stream === tableDefinitions.EntraSignIns_CL.stream,
  );
  const accepted = signIns.filter((request) => request.status === 204);
  const summary = {
    requests: accepted.length,
    // Null unless records were parsed.
    records: accepted.every((request) => request.records !== null)
      ? accepted.reduce((sum, request) => sum + (request.records ?? 0), 0)
      : null,
    rejected: signIns.length - accepted.length,
    uncompressedBytes: accepted.reduce((sum, request) => sum + request.uncompressedBytes, 0),
    compressedBytes: accepted.reduce((sum, request) => sum + request.bytes, 0),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  void Promise.all([ingestion.stop(), identity.stop()]).then(() => process.exit(0));
});
