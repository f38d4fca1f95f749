import type { Logger } from '@palisade/common';
import type { Event } from '@palisade/protocol';
import {
  type AuthSource,
  type AuthSourceOrigin,
  type AuthSourceStats,
  type AuthSourceStatus,
  newSourceStats,
} from './auth-source.js';
import { FileFollower } from './file-follower.js';
import type { FollowStateStore } from './follow-state.js';
import type { Framer } from './framers.js';

/** FollowedSourceOptions say which file a FollowedSource follows and how it cuts it into items. */
export interface FollowedSourceOptions<T> {
  path: string;
  framer: Framer<T>;
  store: FollowStateStore;
  /** Key of this source's saved position in the store. */
  stateKey: string;
  logger: Logger;
  /** @default 5000 */
  pollMs?: number;
}

/**
 * FollowedSource is an AuthSource that follows one file with a FileFollower: start, stop, status
 * and counters are the same for every such source; subclasses turn items into events.
 */
export abstract class FollowedSource<T> implements AuthSource {
  abstract readonly name: string;
  abstract readonly origin: AuthSourceOrigin;
  protected readonly counters = newSourceStats();
  protected emit: (event: Event) => void = () => {};
  private readonly follower: FileFollower<T>;

  constructor(o: FollowedSourceOptions<T>) {
    this.follower = new FileFollower({
      path: o.path,
      framer: o.framer,
      onItems: (items) => this.onItems(items),
      store: o.store,
      stateKey: o.stateKey,
      pollMs: o.pollMs ?? 5000,
      logger: o.logger,
    });
  }

  /** onItems handles what the follower read since last time, in file order. */
  protected abstract onItems(items: T[]): void;

  start(emit: (event: Event) => void): void {
    this.emit = emit;
    this.follower.start();
  }

  stop(): void {
    this.follower.stop();
  }

  status(): AuthSourceStatus {
    const s = this.follower.status();
    return s.state === 'following' ? { active: true, reason: '' } : { active: false, reason: s.reason };
  }

  stats(): AuthSourceStats {
    return { ...this.counters };
  }
}
