/**
 * FleetLock runs fleet changes one at a time. Changes read before they write (a policy revision is
 * the current one plus one; a group is deleted after counting its agents), and handlers await
 * between the two, so two concurrent changes could otherwise both read the same state.
 */
export class FleetLock {
  private tail: Promise<unknown> = Promise.resolve();

  /** run waits for the changes before it, then runs `fn`; its result or error is passed through. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => {});
    return result;
  }
}

const locks = new WeakMap<object, FleetLock>();

/** fleetLock returns the one lock of a storage, so every handler using it serialises with the others. */
export function fleetLock(storage: object): FleetLock {
  let l = locks.get(storage);
  if (!l) {
    l = new FleetLock();
    locks.set(storage, l);
  }
  return l;
}
