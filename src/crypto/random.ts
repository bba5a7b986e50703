// Random bytes for the hot path, drawn from node's CSPRNG in 4 KiB blocks: each randomBytes call
// has a fixed cost of several microseconds, so per-request draws of a few bytes are served from
// the block. A block is never written again once handed out; a new one is allocated instead.
import { randomBytes } from 'node:crypto';

const BLOCK = 4096;
let block = randomBytes(BLOCK);
let offset = 0;

export function random(size: number): Buffer {
  if (size > BLOCK) return randomBytes(size);
  if (offset + size > BLOCK) {
    block = randomBytes(BLOCK);
    offset = 0;
  }
  const out = block.subarray(offset, offset + size);
  offset += size;
  return out;
}
