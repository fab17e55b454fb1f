// Server key and certificate for the HTTPS emulators. They are created by scripts/with-dev-ca.mjs, which
// also sets NODE_EXTRA_CA_CERTS so that the unmodified Azure SDK clients trust them.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface DevTls {
  key: string;
  cert: string;
  ca: string;
}

let cached: DevTls | undefined;

export function loadDevTls(): DevTls {
  if (cached) return cached;
  const dir = process.env['DEV_TLS_DIR'];
  if (!dir) {
    throw new Error(
      'DEV_TLS_DIR is not set: run through scripts/with-dev-ca.mjs ' +
        '(e.g. node scripts/with-dev-ca.mjs node --test dist/test/), which creates the dev CA and sets ' +
        'NODE_EXTRA_CA_CERTS so the SDK clients trust the emulators',
    );
  }
  const read = (file: string): string => {
    try {
      return readFileSync(path.join(dir, file), 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${file} in DEV_TLS_DIR=${dir}; run through scripts/with-dev-ca.mjs`, {
        cause: err,
      });
    }
  };
  cached = { key: read('server-key.pem'), cert: read('server-cert.pem'), ca: read('ca.pem') };
  return cached;
}
