import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './http-error.js';

/** A checker for `Authorization: Bearer <token>`; compares digests so timing says nothing about the token. */
export function bearerAuth(token: string): (header: string | undefined) => void {
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (!m) throw new HttpError(401, 'authentication required: send "Authorization: Bearer <token>" (the token given to weft serve with --token or WEFT_TOKEN)');
    const got = createHash('sha256').update(m[1].trim()).digest();
    if (!timingSafeEqual(got, expected)) throw new HttpError(401, 'invalid bearer token');
  };
}
