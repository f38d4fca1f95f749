import { CHANNELS, TIERS } from '../fleet/policy.js';
import { type JsonSchema, object, oneOf, text } from './schema.js';

const HHMM: JsonSchema = {
  type: 'string',
  pattern: '^([01]\\d|2[0-3]):[0-5]\\d$',
  description: 'a time HH:MM from 00:00 to 23:59',
};

const DAY: JsonSchema = {
  anyOf: [
    { type: 'integer', minimum: 0, maximum: 6 },
    { type: 'string', pattern: '^[A-Za-z]{3,9}$' },
  ],
  description: 'a day (0-6 with 0 = Sunday, or sun..sat)',
};

/** WINDOW is a maintenance window: "always" or days, start, end and an IANA time zone. */
export const WINDOW: JsonSchema = {
  anyOf: [
    { const: 'always' },
    object(
      {
        days: {
          type: 'array',
          minItems: 1,
          maxItems: 7,
          items: DAY,
          description: 'the days the window starts on',
        },
        start: HHMM,
        end: HHMM,
        time_zone: text(64, 'an IANA time zone (e.g. Europe/Berlin, UTC)'),
      },
      ['days', 'start', 'end', 'time_zone'],
    ),
  ],
  description: '"always" or an object { days, start, end, time_zone }',
};

/** POLICY_CHANGE is the body of a policy change (every field optional), also a new group's `policy`. */
export const POLICY_CHANGE: JsonSchema = object(
  { tier: oneOf(TIERS), channel: oneOf(CHANNELS), maintenance_window: WINDOW },
  [],
  'a policy: tier, channel, maintenance_window',
);
