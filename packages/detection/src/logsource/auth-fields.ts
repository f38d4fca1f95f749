import type { Event } from '@palisade/protocol';
import type { Getter } from './fields.js';
import { s } from './fields.js';

const ACTIVITY: Record<number, string> = { 1: 'Logon', 2: 'Logoff', 7: 'Account Switch' };

/**
 * authFields are the fields of an Authentication event. SigmaHQ's auth rules are keyword
 * searches over the log line (RawLine); the named fields are Palisade's, for its own rules.
 */
export function authFields(): [string, Getter, string][] {
  return [
    ['RawLine', (e) => s(e.rawData), 'the original log line (what keyword rules search)'],
    ['User', (e) => s(e.user?.name), 'the account logged on or switched to'],
    ['SourceUser', (e) => s(e.actorUser?.name), 'who asked (su, sudo)'],
    ['SourceIp', (e) => s(e.srcEndpoint?.ip), 'remote address (sshd)'],
    ['Service', (e) => s(e.serviceName), 'sshd, su, sudo, login'],
    [
      'Outcome',
      (e) => (e.statusId === 1 ? 'success' : e.statusId === 2 ? 'failure' : undefined),
      'success or failure',
    ],
    ['Activity', (e) => ACTIVITY[e.activityId], 'Logon, Logoff, Account Switch'],
    ['AuthProtocol', (e) => s(e.authProtocol), 'password, publickey, ...'],
    ['Reason', (e) => s(e.statusDetail), 'why it failed'],
  ];
}

// sudo's log line: "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id"
const SUDO_FIELD = /(?:^|[:;])\s*(TTY|PWD|USER|COMMAND)=([^;]*?)\s*(?=;|$)/g;

function sudoPart(e: Event, name: string): string | undefined {
  const line = e.rawData;
  if (!line) return name === 'COMMAND' ? s(e.command) : name === 'USER' ? s(e.user?.name) : undefined;
  for (const m of line.matchAll(SUDO_FIELD)) if (m[1] === name) return m[2] ? m[2] : undefined;
  return name === 'COMMAND' ? s(e.command) : undefined;
}

/** sudoFields are the key=value parts of sudo's log line (TTY, PWD, USER, COMMAND). */
export function sudoFields(): [string, Getter, string][] {
  return [
    ['USER', (e) => sudoPart(e, 'USER'), 'the target user as sudo logged it (e.g. #-1)'],
    ['COMMAND', (e) => sudoPart(e, 'COMMAND'), 'the command run'],
    ['PWD', (e) => sudoPart(e, 'PWD'), 'working directory'],
    ['TTY', (e) => sudoPart(e, 'TTY'), 'terminal'],
  ];
}
