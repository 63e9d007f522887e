/** Messages between the live plot panel (extension host) and its webview. */
import type { Marker, Row } from '../plot/data';

export interface LegendEntry {
  /** The last value as the adapter printed it. */
  text?: string;
  /** The last error for this expression (e.g. no symbol), cleared by a good value. */
  error?: string;
}

export type ToWebview =
  | {
      type: 'state';
      expressions: string[];
      rows: Row[];
      markers: Marker[];
      windowSeconds: number;
      legend: Record<string, LegendEntry>;
      status: string;
    }
  | { type: 'append'; rows: Row[]; markers: Marker[]; legend: Record<string, LegendEntry> }
  | { type: 'status'; status: string };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'add'; expression: string }
  | { type: 'remove'; expression: string }
  | { type: 'exportCsv' }
  | { type: 'clear' }
  | { type: 'view'; paused: boolean; windowSeconds: number };

export const WINDOW_CHOICES = [10, 30, 60, 300, 0] as const;
