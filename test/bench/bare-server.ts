// The baseline for the encrypt/decrypt bench: a bare node:http server doing the same AES-256-GCM
// work as the gateway on the same JSON shapes, with nothing else (no routing, validation, keys).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const key = randomBytes(32);

const server = createServer((req, res) => {
  if (req.method === 'GET') return void res.end('ok');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    let out: unknown;
    if (req.url === '/encrypt') {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([iv, c.update(Buffer.from(body.plaintext, 'base64')), c.final(), c.getAuthTag()]);
      out = { ciphertext: ct.toString('base64'), keyId: 'bare', version: 1 };
    } else {
      const ct = Buffer.from(body.ciphertext, 'base64');
      const d = createDecipheriv('aes-256-gcm', key, ct.subarray(0, 12)).setAuthTag(ct.subarray(ct.length - 16));
      out = { plaintext: Buffer.concat([d.update(ct.subarray(12, ct.length - 16)), d.final()]).toString('base64'), keyId: 'bare', version: 1 };
    }
    const json = JSON.stringify(out);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  });
});

server.listen(Number(process.env.PORT), '127.0.0.1');
