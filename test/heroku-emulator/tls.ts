/**
 * Self-signed certificates for the emulator's TLS endpoints, made with openssl at start. The
 * heroku CLI downloads backups with node's https.get, which only accepts https: URLs with a trusted
 * certificate, so the emulator hands the CLI this cert as NODE_EXTRA_CA_CERTS (endpoints doc §1).
 * Emulated production databases (`tls` option) get their own certificate for their host name, as
 * Heroku's servers have one no public CA vouches for (clients connect with sslmode=require).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

/** A key pair on disk and in memory. */
export interface TlsFiles {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

/** Generate a P-256 key and a 2-day self-signed cert for 127.0.0.1 and localhost in `dir`. */
export async function createSelfSignedCert(dir: string): Promise<TlsFiles> {
  return makeCert(dir, 'cert', 'drydock heroku emulator', ['IP:127.0.0.1', 'DNS:localhost']);
}

/** A self-signed cert (its own CA) for a database host name or address, in `dir` as `<prefix>-cert.pem`. */
export async function createHostCert(dir: string, host: string, prefix = 'postgres'): Promise<TlsFiles> {
  const san = isIP(host) ? `IP:${host}` : `DNS:${host}`;
  return makeCert(dir, `${prefix}-cert`, host, [san]);
}

async function makeCert(dir: string, name: string, commonName: string, sans: string[]): Promise<TlsFiles> {
  await mkdir(dir, { recursive: true });
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name.replace(/cert$/, 'key')}.pem`);
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2',
    '-subj', `/CN=${commonName}`,
    '-addext', `subjectAltName=${sans.join(',')}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
  ];
  await new Promise<void>((resolve, reject) => {
    execFile('openssl', args, { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`openssl could not make the emulator's TLS certificate: ${String(stderr).trim() || error.message}`));
      else resolve();
    });
  });
  return { certPath, keyPath, cert: await readFile(certPath), key: await readFile(keyPath) };
}
