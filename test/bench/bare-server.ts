// The baselines for the encrypt/decrypt bench: bare node:http servers with no routing, validation,
// key lookup or logging, on the same JSON shapes as the gateway.
//   BARE_MODE=aes       one AES-256-GCM call under a fixed key per request
//   BARE_MODE=envelope  the gateway's envelope crypto by hand: a fresh DEK, the envelope body and the
//                       DEK wrapped under a fixed key (AES-256-GCM), using the same pure envelope code
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { decodeEnvelope, encodeEnvelope, openBody, sealBody, wrapAad } from '../../src/crypto/envelope.ts';

const key = randomBytes(32);
const mode = process.env.BARE_MODE ?? 'aes';

function gcmSeal(k: Buffer, plaintext: Buffer, aad?: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', k, iv);
  if (aad) c.setAAD(aad);
  return Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
}

function gcmOpen(k: Buffer, ct: Buffer, aad?: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', k, ct.subarray(0, 12)).setAuthTag(ct.subarray(ct.length - 16));
  if (aad) d.setAAD(aad);
  return Buffer.concat([d.update(ct.subarray(12, ct.length - 16)), d.final()]);
}

function encrypt(plaintext: Buffer): Buffer {
  if (mode === 'aes') return gcmSeal(key, plaintext);
  const dek = randomBytes(32);
  const { headerBytes, body } = sealBody({ keyId: 'key_01jd0000000000000000000000', keyVersion: 1, dek, plaintext });
  return encodeEnvelope(headerBytes, [{ bindingId: 'bnd_01jd0000000000000000000000', wrapped: gcmSeal(key, dek, wrapAad(headerBytes)) }], body);
}

function decrypt(ciphertext: Buffer): Buffer {
  if (mode === 'aes') return gcmOpen(key, ciphertext);
  const env = decodeEnvelope(ciphertext);
  return openBody(env, gcmOpen(key, Buffer.from(env.wraps[0]!.wrapped), wrapAad(env.headerBytes)));
}

const server = createServer((req, res) => {
  if (req.method === 'GET') return void res.end('ok');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const out = req.url === '/encrypt'
      ? { ciphertext: encrypt(Buffer.from(body.plaintext, 'base64')).toString('base64'), keyId: 'bare', version: 1 }
      : { plaintext: decrypt(Buffer.from(body.ciphertext, 'base64')).toString('base64'), keyId: 'bare', version: 1 };
    const json = JSON.stringify(out);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  });
});

server.listen(Number(process.env.PORT), '127.0.0.1');
