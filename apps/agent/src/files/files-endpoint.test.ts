import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndpointsSchema, create } from '@palisade/protocol';
import { endpointUrls } from '../agent.js';

test('the file receiver from check-in is among the endpoints isolation lets through', () => {
  const ep = create(EndpointsSchema, {
    registrationUrl: 'https://srv:7443',
    telemetryPrimaryUrl: 'wss://srv:7444/v1/telemetry',
    telemetryStandbyUrl: 'wss://srv:7445/v1/telemetry',
    filesUrl: 'https://files.example:7446',
  });
  assert.ok(endpointUrls(ep).includes('https://files.example:7446'));
});
