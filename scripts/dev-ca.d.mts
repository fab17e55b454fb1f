// Types for scripts/dev-ca.mjs, which stays plain JavaScript so scripts/with-dev-ca.mjs runs without a build.
export declare const files: { ca: string; caKey: string; serverKey: string; serverCert: string };
export declare const devTlsEnv: { NODE_EXTRA_CA_CERTS: string; DEV_TLS_DIR: string };
export declare function ensureDevTls(): Promise<void>;
