/**
 * ERRNO_NAMES names the Linux errno values a failed network connect reports (x86-64 and arm64
 * share these numbers), with the text strerror gives them.
 */
const ERRNO_NAMES: Record<number, [string, string]> = {
  1: ['EPERM', 'Operation not permitted'],
  4: ['EINTR', 'Interrupted system call'],
  13: ['EACCES', 'Permission denied'],
  22: ['EINVAL', 'Invalid argument'],
  24: ['EMFILE', 'Too many open files'],
  97: ['EAFNOSUPPORT', 'Address family not supported by protocol'],
  98: ['EADDRINUSE', 'Address already in use'],
  99: ['EADDRNOTAVAIL', 'Cannot assign requested address'],
  100: ['ENETDOWN', 'Network is down'],
  101: ['ENETUNREACH', 'Network is unreachable'],
  103: ['ECONNABORTED', 'Software caused connection abort'],
  104: ['ECONNRESET', 'Connection reset by peer'],
  110: ['ETIMEDOUT', 'Connection timed out'],
  111: ['ECONNREFUSED', 'Connection refused'],
  112: ['EHOSTDOWN', 'Host is down'],
  113: ['EHOSTUNREACH', 'No route to host'],
};

/** errnoName is the symbolic name of an errno value ("ETIMEDOUT"), or "errno N". */
export function errnoName(n: number): string {
  return ERRNO_NAMES[n]?.[0] ?? `errno ${n}`;
}

/** errnoText is "NAME: strerror text" ("ETIMEDOUT: Connection timed out"), or "errno N". */
export function errnoText(n: number): string {
  const e = ERRNO_NAMES[n];
  return e ? `${e[0]}: ${e[1]}` : `errno ${n}`;
}
