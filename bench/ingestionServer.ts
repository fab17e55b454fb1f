// Child process for the pipeline bench: the ingestion emulator (and the token issuer it trusts) on
// the other core, so the bench process measures only the pipeline's own work. Prints one JSON line.
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
  skipRecordValidation: true,
});
const token = await tokenFromIdentityEndpoint(identity.env(), 'https://monitor.azure.com');
process.stdout.write(
  `${JSON.stringify({ endpoint: ingestion.endpoint, dcrImmutableId: ingestion.dcrImmutableId, token })}\n`,
);

// Exit with the parent: it closes our stdin when done (or dies).
process.stdin.resume();
process.stdin.on('end', () => {
  const accepted = ingestion.accepted('EntraSignIns_CL').length;
  process.stderr.write(`ingestion emulator accepted ${accepted} sign-ins\n`);
  void Promise.all([ingestion.stop(), identity.stop()]).then(() => process.exit(0));
});
