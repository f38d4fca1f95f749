import type { Logger } from '@palisade/common';
import type { AlertChange } from '@palisade/storage';

/** AlertListener is called once per alert a detection pass created or folded matches into. */
export type AlertListener = (change: AlertChange) => void | Promise<void>;

/**
 * AlertBus is the in-process hook for code that acts on alerts (playbooks, notifications, the
 * console's live view). The detection worker publishes each `AlertChange` after its detection
 * pass has committed (so a listener only ever sees stored alerts, each once per change while this
 * process runs). Listeners are called in subscription order; one that throws or rejects is logged
 * and does not stop the others or detection. A listener that must not miss alerts across a
 * restart reads `Storage.listAlerts` on start for what it has not seen.
 */
export class AlertBus {
  private readonly listeners = new Set<AlertListener>();

  constructor(private readonly logger: Logger) {}

  /** onAlert subscribes `listener`; the returned function unsubscribes it. */
  onAlert(listener: AlertListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** publish hands `changes` to every listener (called by the detection worker after its commit). */
  publish(changes: readonly AlertChange[]): void {
    for (const change of changes) {
      for (const l of this.listeners) {
        try {
          const r = l(change);
          if (r && typeof (r as Promise<void>).catch === 'function') {
            (r as Promise<void>).catch((err: unknown) => this.failed(change, err));
          }
        } catch (err) {
          this.failed(change, err);
        }
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }

  private failed(change: AlertChange, err: unknown): void {
    this.logger.warn(
      { alertId: change.alert.id, ruleId: change.alert.ruleId, err: (err as Error)?.message ?? String(err) },
      'alert listener failed',
    );
  }
}
