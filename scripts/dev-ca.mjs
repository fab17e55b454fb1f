// A throwaway development CA and a localhost server certificate signed by it, kept in .local/tls/.
//
// Node reads NODE_EXTRA_CA_CERTS only at process start-up, so whoever starts the processes that talk to the
// HTTPS emulators creates these files first and passes `devTlsEnv` to them: vitest's global setup (its
// workers are forked after it, with the config's `env`) and scripts/with-dev-ca.mjs (demo, bench, CLI).
// The official Azure SDK clients then trust the emulators without any client-side TLS option.
// DEV_TLS_DIR tells the emulators (test/emulators/tls.ts) where the server key and certificate are.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tlsDir = join(root, '.local', 'tls');
export const files = {
  ca: join(tlsDir, 'ca.pem'),
  // Kept so a missing or expiring server certificate can be re-issued without replacing the CA.
  caKey: join(tlsDir, 'ca-key.pem'),
  serverKey: join(tlsDir, 'server-key.pem'),
  serverCert: join(tlsDir, 'server-cert.pem'),
};
const DAY_MS = 24 * 60 * 60 * 1000;
// Re-issue a while before expiry so a long test run never straddles it.
const RENEW_BEFORE_MS = 7 * DAY_MS;
const SERVER_NAMES = ['localhost', '127.0.0.1', '::1'];

function validFor(pemFile, minMs) {
  try {
    const cert = new X509Certificate(readFileSync(pemFile));
    return Date.parse(cert.validTo) - Date.now() > minMs;
  } catch {
    return false;
  }
}

// The server certificate must be signed by *this* CA, still valid and cover every name we serve on.
function serverCertUsable() {
  if (!existsSync(files.serverKey) || !validFor(files.serverCert, RENEW_BEFORE_MS)) return false;
  try {
    const ca = new X509Certificate(readFileSync(files.ca));
    const cert = new X509Certificate(readFileSync(files.serverCert));
    const key = createPrivateKey(readFileSync(files.serverKey));
    return (
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      cert.checkPrivateKey(key) &&
      cert.checkHost('localhost') !== undefined &&
      cert.checkIP('127.0.0.1') !== undefined
    );
  } catch {
    return false;
  }
}

// Write-then-rename so a concurrent run never reads a half-written PEM.
function writeAtomically(file, contents, mode = 0o644) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents, { mode });
  renameSync(tmp, file);
}

async function createCa() {
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'crosscloud-identity-monitor dev CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY_MS), // tolerate small clock skew
    notAfterDate: new Date(now.getTime() + 5 * 365 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  writeAtomically(files.caKey, pems.private, 0o600);
  writeAtomically(files.ca, pems.cert);
}

async function createServerCert() {
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY_MS),
    // Kept under 398 days: the longest validity TLS clients accept for leaf certificates.
    notAfterDate: new Date(now.getTime() + 397 * DAY_MS),
    ca: { key: readFileSync(files.caKey, 'utf8'), cert: readFileSync(files.ca, 'utf8') },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: SERVER_NAMES.map((n) =>
          n.includes(':') || /^\d/.test(n) ? { type: 7, ip: n } : { type: 2, value: n },
        ),
      },
    ],
  });
  writeAtomically(files.serverKey, pems.private, 0o600);
  writeAtomically(files.serverCert, pems.cert);
}

/** Creates (or renews) the CA and server certificate when missing, expiring or inconsistent. */
export async function ensureDevTls() {
  mkdirSync(tlsDir, { recursive: true });
  const caUsable = existsSync(files.caKey) && validFor(files.ca, 400 * DAY_MS);
  if (!caUsable) await createCa();
  if (!caUsable || !serverCertUsable()) await createServerCert();
  if (!serverCertUsable()) throw new Error(`generated certificates in ${tlsDir} failed self-check`);
}

/** The environment a process needs, at its start, to serve and trust the emulators. */
export const devTlsEnv = { NODE_EXTRA_CA_CERTS: files.ca, DEV_TLS_DIR: tlsDir };
