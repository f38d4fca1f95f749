/**
 * PROTOCOL_VERSION is the version of the wire contract between agent and server. Bump it when a
 * change is not backwards compatible (a field changes meaning, a frame kind is removed); adding
 * optional fields does not need a bump. Both sides refuse a peer whose version they do not speak.
 */
export const PROTOCOL_VERSION = 1;

/** SUPPORTED_PROTOCOL_VERSIONS lists every version this build can speak. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];

/** ProtocolVersionError says that a peer speaks a protocol version this build does not. */
export class ProtocolVersionError extends Error {
  constructor(readonly peerVersion: number) {
    super(
      `unsupported protocol version ${peerVersion}: this build speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}` +
        ' (upgrade the older side)',
    );
    this.name = 'ProtocolVersionError';
  }
}

/** checkProtocolVersion throws ProtocolVersionError unless `v` is supported. */
export function checkProtocolVersion(v: number): void {
  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(v)) throw new ProtocolVersionError(v);
}
