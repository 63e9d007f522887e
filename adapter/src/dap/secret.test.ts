import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientSecret, serverSecret } from './secret';

const dir = mkdtempSync(join(tmpdir(), 'pidscope-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the --listen secret', () => {
  it('is created in a missing --secret-file with mode 0600, and read back by the client', () => {
    const f = join(dir, 'created');
    const s = serverSecret(f, {});
    expect(s.source).toBe('created-file');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(f, 'utf8').trim()).toBe(s.secret);
    expect(clientSecret(f, {})).toBe(s.secret);
    expect(serverSecret(f, {})).toEqual({ secret: s.secret, source: 'file' });
  });

  it('refuses a file others can read', () => {
    const f = join(dir, 'open');
    writeFileSync(f, 'a-long-enough-secret-value\n');
    chmodSync(f, 0o644);
    expect(() => serverSecret(f, {})).toThrow(/mode 0644.*chmod 600/);
  });

  it('comes from the environment, or is generated', () => {
    expect(serverSecret(undefined, { PIDSCOPE_DAP_SECRET: 'env-secret-0123456789' })).toEqual({ secret: 'env-secret-0123456789', source: 'env' });
    expect(() => serverSecret(undefined, { PIDSCOPE_DAP_SECRET: 'short' })).toThrow(/shorter than 16/);
    const g = serverSecret(undefined, {});
    expect(g.source).toBe('generated');
    expect(g.secret.length).toBeGreaterThanOrEqual(32);
  });
});
