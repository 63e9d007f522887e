import { describe, expect, it } from 'vitest';
import { parseHitCondition, parseLogMessage, renderLogMessage } from './hitCondition';

describe('hit conditions', () => {
  const which = (cond: string, upTo = 12) => {
    const p = parseHitCondition(cond)!;
    return Array.from({ length: upTo }, (_, i) => i + 1).filter(p);
  };

  it('reads VS Code forms', () => {
    expect(which('10')).toEqual([10, 11, 12]);
    expect(which('>= 10')).toEqual([10, 11, 12]);
    expect(which('> 10')).toEqual([11, 12]);
    expect(which('== 3')).toEqual([3]);
    expect(which('=3')).toEqual([3]);
    expect(which('< 3')).toEqual([1, 2]);
    expect(which('<= 2')).toEqual([1, 2]);
    expect(which('% 5')).toEqual([5, 10]);
    expect(which('!= 1', 3)).toEqual([2, 3]);
  });

  it('treats empty as none and rejects nonsense with a fix', () => {
    expect(parseHitCondition(undefined)).toBeUndefined();
    expect(parseHitCondition('  ')).toBeUndefined();
    expect(() => parseHitCondition('often')).toThrow(/invalid hit condition 'often'.*>= 10/);
    expect(() => parseHitCondition('% 0')).toThrow(/modulo by zero/);
  });
});

describe('log messages', () => {
  it('interpolates {expr} and keeps {{ }} literal', () => {
    const parts = parseLogMessage('g={value} was {old} {{x}} {bad}');
    expect(parts).toEqual([{ text: 'g=' }, { expr: 'value' }, { text: ' was ' }, { expr: 'old' }, { text: ' {x} ' }, { expr: 'bad' }]);
    const out = renderLogMessage(parts, (e) => {
      if (e === 'bad') throw new Error('No symbol "bad" in current context.');
      return e === 'value' ? '3' : '2';
    });
    expect(out).toBe('g=3 was 2 {x} <error: No symbol "bad" in current context.>');
  });

  it('leaves an unbalanced brace as text', () => {
    expect(parseLogMessage('a {b')).toEqual([{ text: 'a {b' }]);
  });
});
