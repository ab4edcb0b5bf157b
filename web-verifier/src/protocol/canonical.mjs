// RFC 8785 canonical JSON, the bytes every anchored document is hashed over.
import canonicalize from 'canonicalize';
import { utf8 } from './bytes.mjs';

export function canonicalBytes(value) {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('no canonical JSON');
  return utf8(text);
}
