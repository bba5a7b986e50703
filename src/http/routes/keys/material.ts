// Bring your own key, as the create and rotate routes take it: the caller's material wrapped for a
// gateway RSA key, opened there (the caller needs UNWRAP on it) and handed on wrapped for the
// connection's own import scheme.
import { z } from '@hono/zod-openapi';
import { Bytes } from '../../schemas.ts';
import { fromB64 } from '../../views.ts';
import { heldMaterial } from '../../../crypto/material.ts';
import type { CryptoService } from '../../../keys/crypto.ts';
import type { Actor, MaterialOpener } from '../../../keys/model.ts';
import { rsaAesSchemes } from '../../../../providers/provider.ts';

export const MaterialBody = z.object({
  wrappedKey: Bytes.openapi({ description: 'The key (raw bytes for AES and HMAC, PKCS#8 DER for key pairs) wrapped with CKM_RSA_AES_KEY_WRAP: OAEP of a fresh AES-256 key, then RFC 5649 key wrap of the key under it' }),
  wrappingKey: z.string().min(1).max(140).openapi({ description: 'The gateway RSA key (WRAP_UNWRAP, id or alias/NAME) whose public key it is wrapped for; the caller needs UNWRAP on it' }),
  scheme: z.enum(rsaAesSchemes).default('RSA_AES_KEY_WRAP_SHA_256'),
}).strict();

/** The request's material, opened (as a `spec` key) only when the service uses it. */
export function broughtMaterial(crypto: CryptoService, actor: Actor, body: z.infer<typeof MaterialBody>): MaterialOpener {
  return async (spec, use) => {
    const material = await crypto.openBrought(actor, body.wrappingKey, fromB64(body.wrappedKey), body.scheme, spec);
    try {
      return await use(heldMaterial(spec, material));
    } finally {
      material.fill(0);
    }
  };
}
