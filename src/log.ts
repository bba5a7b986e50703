// Structured JSON logs. Handlers never log bodies; redaction is the second line of defence should
// a secret-bearing object reach a log call anyway.
import { pino, type Logger } from 'pino';

export const redactedPaths = [
  'plaintext', '*.plaintext', 'dek', '*.dek', 'material', '*.material', 'privateKey', '*.privateKey',
  'pin', '*.pin', 'headers.authorization', '*.headers.authorization', 'headers["idempotency-key"]',
];

export function newLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: redactedPaths, censor: '[redacted]' }, base: { service: 'kms-gateway' } }, destination);
}
