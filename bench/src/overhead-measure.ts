import { progress } from './table.js';
import type { Load } from './overhead-loads.js';

/** Row is one load's result for one collector. */
export interface Row {
  collector: string;
  load: string;
  expected: number;
  captured: number;
  lost: number;
  /** Rate the load achieved (execs/s, files/s, connections/s). */
  rate: number;
  /** Every event the collector delivered in the window (all of the host's, not just the marker's). */
  events: number;
  cpuMs: number;
  usPerEvent: number;
  usPerExec: number | null;
  peakRssMb: number;
}

/** Collector is what a load is measured against: the agent or auditd. */
export interface Collector {
  name: string;
  cpu(): number;
  peakRss(): number;
  /** Marker events captured (stored on the server / written to the audit log). */
  captured(load: Load, marker: string): Promise<number>;
  /** Every event delivered so far (for µs per event). */
  total(): Promise<number>;
}

/**
 * measure drives one load against a collector and reads the collector's CPU before and after the
 * marker events are all captured (or stop arriving): the CPU of the delivery is in the window.
 */
export async function measure(c: Collector, load: Load): Promise<Row> {
  const marker = `palisade-bench-${Math.random().toString(36).slice(2, 10)}`;
  const e0 = await c.total();
  const cpu0 = c.cpu();
  const { rate } = await load.drive(marker);
  const captured = await c.captured(load, marker);
  const cpuMs = (c.cpu() - cpu0) * 1000;
  const events = (await c.total()) - e0;
  const row: Row = {
    collector: c.name,
    load: load.name,
    expected: load.expected,
    captured,
    lost: Math.max(0, load.expected - captured),
    rate,
    events,
    cpuMs,
    usPerEvent: events ? (cpuMs * 1000) / events : 0,
    usPerExec: load.execs ? (cpuMs * 1000) / load.expected : null,
    peakRssMb: c.peakRss(),
  };
  progress(
    `${c.name} ${load.name}: ${captured}/${load.expected} at ${rate.toFixed(0)}/s, ${events} events, ${cpuMs.toFixed(0)} ms CPU, peak ${row.peakRssMb.toFixed(1)} MB`,
  );
  return row;
}
