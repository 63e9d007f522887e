import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { announceHwSkip } from './capabilities';

// Fixtures are compiled at test time (into the git-ignored fixtures/build) so every test sees
// binaries built by this machine's gcc. make rebuilds only what changed.
export default function setup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync('make', ['-s', '-C', join(root, 'fixtures')], { stdio: 'inherit' });
  // One loud line per run when the hardware-watchpoint tests skip (test/support/capabilities.ts).
  announceHwSkip();
}
