import type { GroupPolicy } from '@palisade/storage';

/** DEFAULT_GROUP is the group a fresh server creates, with the reference product's default policy. */
export const DEFAULT_GROUP = 'default';

/** DEFAULT_POLICY: server tier, stable channel, no maintenance window restriction. */
export const DEFAULT_POLICY: GroupPolicy = {
  revision: 1,
  tier: 'server',
  channel: 'stable',
  maintenanceWindow: 'always',
};
