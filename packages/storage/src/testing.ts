/**
 * @palisade/storage/testing is for tests of storage back ends only: the conformance suite every
 * back end must pass and the fixtures it is built from. It loads Node's test runner, so production
 * code imports `@palisade/storage`, never this subpath.
 */
export { runStorageConformance } from './conformance.js';
export * as conformanceFixtures from './conformance-fixtures.js';
export { evidenceFixture, newAlertFixture } from './conformance-alerts.js';
