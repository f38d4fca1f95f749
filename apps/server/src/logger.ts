import type { Logger } from '@palisade/common';
import { pino } from 'pino';

/** createLogger makes the server's JSON logger (stderr by default). Secrets are redacted by path as a second line of defence. */
export function createLogger(level = 'info', destination: NodeJS.WritableStream | number = 2): Logger {
  const dest =
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino(
    {
      level,
      base: { svc: 'palisade-server' },
      redact: {
        paths: [
          'registrationKey',
          'secret',
          'token',
          'authorization',
          '*.authorization',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    dest,
  ) as unknown as Logger;
}
