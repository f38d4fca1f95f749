import { readFileSync } from 'node:fs';

/** REGISTRATION_KEY_ENV is the environment variable a registration key may come in. */
export const REGISTRATION_KEY_ENV = 'PALISADE_REGISTRATION_KEY';

/** Registration keys are short tokens; anything longer is not one (a wrong file, say). */
const MAX_KEY_BYTES = 1024;

/** RegistrationKeyInputError says a registration key could not be taken from where it was given. */
export class RegistrationKeyInputError extends Error {
  override name = 'RegistrationKeyInputError';
}

/**
 * takeRegistrationKeyFromEnv returns PALISADE_REGISTRATION_KEY (undefined when unset or empty)
 * and removes it from the environment, so no process the agent starts (the eBPF helper, the
 * journal reader, flock) inherits it. Call it before anything is spawned.
 */
export function takeRegistrationKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[REGISTRATION_KEY_ENV];
  delete env[REGISTRATION_KEY_ENV];
  return v?.trim() || undefined;
}

/**
 * readRegistrationKeyFile reads a registration key from a file, or from standard input when
 * `path` is "-" (`palisade agent --registration-key-file - < key`): one token, surrounding
 * whitespace ignored. Unlike a command-line argument, neither shows in /proc/PID/cmdline.
 */
export function readRegistrationKeyFile(path: string, stdinFd = 0): string {
  const what = path === '-' ? 'standard input' : path;
  let buf: Buffer;
  try {
    buf = readFileSync(path === '-' ? stdinFd : path);
  } catch (err) {
    throw new RegistrationKeyInputError(
      `cannot read the registration key from ${what}: ${(err as Error).message}`,
    );
  }
  if (buf.byteLength > MAX_KEY_BYTES)
    throw new RegistrationKeyInputError(
      `${what} holds ${buf.byteLength} bytes: not a registration key (at most ${MAX_KEY_BYTES})`,
    );
  const key = buf.toString('utf8').trim();
  if (key === '') throw new RegistrationKeyInputError(`${what} holds no registration key`);
  if (/\s/.test(key))
    throw new RegistrationKeyInputError(`${what} holds more than one word: a registration key is one token`);
  return key;
}
