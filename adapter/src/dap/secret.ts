/**
 * The per-run secret of `pidscope dap --listen` (see gate.ts): from --secret-file (mode 0600,
 * owned by the user; created with a fresh secret when missing), from PIDSCOPE_DAP_SECRET, or
 * generated and printed once.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { PidscopeError } from '../errors';

export const SECRET_ENV = 'PIDSCOPE_DAP_SECRET';
const MIN_LENGTH = 16;

export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

function checked(secret: string, from: string): string {
  const s = secret.trim();
  if (s.length < MIN_LENGTH || /\s/.test(s)) {
    throw new PidscopeError(
      'BAD_ARGS',
      `the secret in ${from} is ${s.length < MIN_LENGTH ? `shorter than ${MIN_LENGTH} characters` : 'not one word'}`,
      `Put at least ${MIN_LENGTH} random characters without spaces there (e.g. \`head -c 24 /dev/urandom | base64\`)`,
      'user',
    );
  }
  return s;
}

/** Reads the secret file, refusing one that others could read or change. */
export function readSecretFile(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new PidscopeError(
      'BAD_ARGS',
      `cannot read the secret file ${path} (${(e as NodeJS.ErrnoException).code})`,
      'Give the --secret-file the server uses',
      'user',
    );
  }
  const uid = process.getuid?.() ?? 0;
  if ((st.mode & 0o077) !== 0 || (st.uid !== uid && uid !== 0)) {
    throw new PidscopeError(
      'BAD_ARGS',
      `the secret file ${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} and owner uid ${st.uid}: others could read or replace the secret`,
      `Run \`chmod 600 ${path}\` (as its owner, uid ${uid})`,
      'user',
    );
  }
  return checked(readFileSync(path, 'utf8'), path);
}

export interface ServerSecret {
  secret: string;
  /** Where it came from, for the listening message; 'generated' means it must be printed. */
  source: 'file' | 'created-file' | 'env' | 'generated';
}

export function serverSecret(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ServerSecret {
  if (file !== undefined) {
    try {
      const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      const secret = newSecret();
      writeSync(fd, `${secret}\n`);
      closeSync(fd);
      return { secret, source: 'created-file' };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new PidscopeError(
          'BAD_ARGS',
          `cannot create the secret file ${file} (${(e as NodeJS.ErrnoException).code})`,
          'Give a path in a directory you can write',
          'user',
        );
      }
    }
    return { secret: readSecretFile(file), source: 'file' };
  }
  const fromEnv = env[SECRET_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { secret: checked(fromEnv, SECRET_ENV), source: 'env' };
  return { secret: newSecret(), source: 'generated' };
}

/** The client side (`pidscope dap --connect`): the file, else the environment. */
export function clientSecret(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (file !== undefined) return readSecretFile(file);
  const fromEnv = env[SECRET_ENV];
  return fromEnv ? fromEnv.trim() : undefined;
}
