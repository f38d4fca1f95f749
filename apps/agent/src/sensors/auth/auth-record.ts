/** AuthActivity is the OCSF Authentication (3002) activity of a record. */
export const AuthActivity = {
  Logon: 1,
  Logoff: 2,
  AccountSwitch: 7,
} as const;

/** LogonType holds the OCSF logon_type_id values the auth sensor sets. */
export const LogonType = {
  Interactive: 2,
  Network: 3,
  RemoteInteractive: 10,
} as const;

/**
 * AuthRecord is what a parser understood from one log line (or login record): who authenticated
 * as whom, how, from where, and whether it worked. It becomes one OCSF Authentication event.
 */
export interface AuthRecord {
  /** The program that performed the authentication: sshd, su, sudo, login, ... */
  service: string;
  activity: (typeof AuthActivity)[keyof typeof AuthActivity];
  success: boolean;
  /** The account being logged on or switched to; '' when the log line does not say. */
  user: string;
  /** Who asked (su/sudo: the invoking user). */
  actorUser?: string;
  actorUid?: string;
  srcIp?: string;
  srcPort?: number;
  /** auth_protocol: password, publickey, keyboard-interactive, ... */
  method?: string;
  /** status_detail: why it failed, or the qualifier of a success. */
  detail?: string;
  /** sudo: the command line that was (or would have been) run. */
  command?: string;
  tty?: string;
  remote: boolean;
  logonType?: number;
}
