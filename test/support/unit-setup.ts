import { announceHwSkip } from './capabilities';

// The unit project builds no fixtures; it only says, once, when hardware-watchpoint tests skip.
export default function setup(): void {
  announceHwSkip();
}
