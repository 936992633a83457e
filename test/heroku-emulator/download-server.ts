/**
 * The emulator's HTTPS server for backup public URLs, standing in for S3: GET/HEAD of
 * `/backups/<token>/<name>.dump` with a presigned query (X-Amz-Date, X-Amz-Expires, X-Amz-Signature),
 * answered with Content-Length and an S3-style ETag. As on S3: an unsigned or wrongly signed URL gets
 * 403 AccessDenied / SignatureDoesNotMatch, an expired one 403 "Request has expired", and the ETag of
 * an object uploaded in parts (every real backup) is `"<hex>-<parts>"`, not the file's MD5.
 * `heroku pg:backups:download` fetches these with node's https.get, so the server must be HTTPS with a
 * certificate the CLI trusts (NODE_EXTRA_CA_CERTS).
 *
 * Download faults (TransferStore.takeDownloadFault) reproduce what breaks real downloads: a
 * connection cut after half the body, flipped bytes under the original ETag, an error status.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { TlsFiles } from './tls.js';
import { BACKUP_PATH, type TransferStore } from './transfer-store.js';
import type { LoggedRequest } from './types.js';

/** A running download server. */
export interface DownloadServer {
  /** https://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}

const BACKUP_ROUTE = new RegExp(`^${BACKUP_PATH}/(?<token>[^/]+)/(?<name>[^/]+)$`);

/** An S3-style XML error. */
function s3Error(res: ServerResponse, status: number, code: string, message: string, extra = ''): number {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}</Error>\n`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  return status;
}

/** Flip a run of bytes in the middle (and the last byte): same length, different content. */
function corrupt(body: Buffer): Buffer {
  const out = Buffer.from(body);
  const start = Math.floor(out.length / 2);
  for (let i = start; i < Math.min(out.length, start + 16); i += 1) out[i] = (out[i] ?? 0) ^ 0xff;
  if (out.length > 0) out[out.length - 1] = (out[out.length - 1] ?? 0) ^ 0x5a;
  return out;
}

/** Start the HTTPS server on 127.0.0.1 (random port). `log` records each answered request. */
export async function startDownloadServer(store: TransferStore, tls: TlsFiles, log: (request: LoggedRequest) => void): Promise<DownloadServer> {
  async function respond(method: string, path: string, query: URLSearchParams, res: ServerResponse): Promise<number> {
    const m = BACKUP_ROUTE.exec(path);
    if (!m || (method !== 'GET' && method !== 'HEAD')) return s3Error(res, 403, 'AccessDenied', 'Access Denied');
    const signed = store.checkSignedUrl(path, query);
    if (signed === 'unsigned') return s3Error(res, 403, 'AccessDenied', 'Access Denied');
    if (signed === 'bad-signature') return s3Error(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    if (signed === 'expired') {
      return s3Error(res, 403, 'AccessDenied', 'Request has expired', `<X-Amz-Expires>${query.get('X-Amz-Expires') ?? ''}</X-Amz-Expires><ServerTime>${new Date().toISOString()}</ServerTime>`);
    }
    const backup = store.byToken(m.groups?.token ?? '');
    const file = backup?.succeeded ? backup.file : undefined;
    if (!backup || !file) return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    const fault = method === 'GET' ? store.takeDownloadFault() : undefined;
    if (fault?.kind === 'status') {
      const status = fault.status ?? 500;
      return s3Error(res, status, status === 403 ? 'AccessDenied' : 'InternalError', `Injected by the drydock emulator (HTTP ${status}).`);
    }
    const size = backup.processedBytes;
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': size,
      ETag: `"${store.etagOf(backup)}"`,
      'Last-Modified': new Date(backup.finishedAt ?? Date.now()).toUTCString(),
      'Accept-Ranges': 'bytes',
    });
    if (method === 'HEAD') {
      res.end();
      return 200;
    }
    if (fault?.kind === 'truncate') {
      const body = await readFile(file);
      // Promise the whole file, send about half, then cut the connection (what a dropped S3 stream looks like).
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      return 200;
    }
    if (fault?.kind === 'corrupt') {
      res.end(corrupt(await readFile(file)));
      return 200;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
    return 200;
  }

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://emulator.invalid');
    const path = url.pathname;
    void respond(method, path, url.searchParams, res)
      .catch(() => (res.headersSent ? (res.destroy(), 500) : s3Error(res, 500, 'InternalError', 'We encountered an internal error.')))
      .then((status) => log({ method, path, status }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
