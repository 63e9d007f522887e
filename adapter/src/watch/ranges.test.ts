import { describe, expect, it } from 'vitest';
import { splitIntoBreakpoints } from './ranges';

describe('splitIntoBreakpoints', () => {
  it('splits an object into the fewest aligned ranges', () => {
    expect(splitIntoBreakpoints(0x1000n, 8)).toEqual([{ address: 0x1000n, length: 8 }]);
    expect(splitIntoBreakpoints(0x1000n, 16)).toEqual([
      { address: 0x1000n, length: 8 },
      { address: 0x1008n, length: 8 },
    ]);
    // A 12-byte struct at an address aligned to 4: 4 + 8.
    expect(splitIntoBreakpoints(0x1004n, 12)).toEqual([
      { address: 0x1004n, length: 4 },
      { address: 0x1008n, length: 8 },
    ]);
    expect(splitIntoBreakpoints(0x1001n, 3)).toEqual([
      { address: 0x1001n, length: 1 },
      { address: 0x1002n, length: 2 },
    ]);
    expect(splitIntoBreakpoints(0x1000n, 128)).toHaveLength(16);
  });
});
