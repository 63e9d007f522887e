import type { DebugProtocol } from '@vscode/debugprotocol';
import { describe, expect, it } from 'vitest';
import { PidscopeError } from '../errors';
import { asPidscopeError, errorText, fillErrorResponse } from './errors';
import { parseListen } from './server';

function response(): DebugProtocol.Response {
  return { seq: 0, type: 'response', request_seq: 1, command: 'x', success: true };
}

describe('DAP error responses', () => {
  it('carry cause and fix, a stable id by blame, and the code', () => {
    const r = response();
    fillErrorResponse(r, new PidscopeError('NO_SYMBOL', 'No symbol "x" in current context.', "(at column 1 of `x')", 'user'));
    expect(r.success).toBe(false);
    expect(r.message).toBe('No symbol "x" in current context. (at column 1 of `x\')');
    expect(r.body).toMatchObject({ error: { id: 1021, showUser: false }, code: 'NO_SYMBOL', blame: 'user' });
  });

  it('turn foreign exceptions into internal errors shown to the user', () => {
    const r = response();
    const e = fillErrorResponse(r, new TypeError('x is undefined'));
    expect(e.blame).toBe('internal');
    expect(r.message).toMatch(/^internal error in pidscope: x is undefined\. This is a bug/);
    expect((r.body as { error: DebugProtocol.Message }).error).toMatchObject({ id: 3000, showUser: true });
  });

  it('keep braces of C values literally (no {var} placeholders of ours)', () => {
    const r = response();
    fillErrorResponse(r, new PidscopeError('TYPE', 'cannot assign {x = 1}', 'assign members', 'user'));
    expect((r.body as { error: DebugProtocol.Message }).error.variables).toBeUndefined();
    expect(errorText(asPidscopeError(new PidscopeError('A', 'cause', '')))).toBe('cause');
  });
});

describe('parseListen', () => {
  it('accepts HOST:PORT, :PORT and PORT', () => {
    expect(parseListen('127.0.0.1:4711')).toEqual({ host: '127.0.0.1', port: 4711 });
    expect(parseListen(':0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('4711')).toEqual({ host: '127.0.0.1', port: 4711 });
    expect(parseListen('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(parseListen('nope')).toBeUndefined();
    expect(parseListen('1:99999')).toBeUndefined();
  });
});
