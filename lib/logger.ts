import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one logger. JSON lines on stderr so stdout stays for command output (tables, --json).
 * Emails, tokens and feature values are never logged; the redact paths are a second line of defence.
 */
export function makeLogger(level: string, name = 'scoreflow', destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: ['email', '*.email', 'token', '*.token', 'password', '*.password', 'connectionString'], censor: '[redacted]' },
    },
    destination,
  );
}
