import { describe } from 'node:test';
import { adminConformance } from './conformance-admin.js';
import { alertConformance } from './conformance-alerts.js';
import { batchConformance } from './conformance-batches.js';
import { fleetConformance } from './conformance-fleet.js';
import type { OpenStorage } from './conformance-helpers.js';
import { playbookConformance } from './conformance-playbooks.js';
import { responseConformance } from './conformance-response.js';
import { searchConformance } from './conformance-search.js';
import { usersConformance } from './conformance-users.js';
import type { Storage } from './storage.js';

/**
 * runStorageConformance registers (with node:test) the tests every `Storage` back end must pass:
 * groups, registration keys, agents, API tokens, batch storage (dedupe, atomicity, lastSeq),
 * event search (filters, order, cursor paging), countEvents, and response commands, isolation
 * state and restore codes, playbooks and their runs, alerts with the detection cursor, and console
 * users and sessions. `open` must return a fresh,
 * empty, migrated storage on every call; the suite closes each one it opens.
 *
 * Contract details the suite pins down: unknown ids in updates reject with `not_found`, duplicate
 * ids, names or secret hashes with `conflict`, a group with agents cannot be deleted (`conflict`),
 * bad queries with `bad_request`, a batch with seq < 1 with `validation_failed`; search returns the
 * newest stored events first (descending id; ids are decimal integer strings).
 */
export function runStorageConformance(name: string, open: () => Promise<Storage>): void {
  const o: OpenStorage = open;
  describe(`storage conformance: ${name}`, () => {
    fleetConformance(o);
    adminConformance(o);
    batchConformance(o);
    searchConformance(o);
    responseConformance(o);
    playbookConformance(o);
    alertConformance(o);
    usersConformance(o);
  });
}
