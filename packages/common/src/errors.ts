/**
 * ERROR_CODES is the one table of error codes Palisade returns to clients (API, registration,
 * telemetry). Each code maps to the HTTP status it is sent with.
 */
export const ERROR_CODES = {
  bad_request: 400,
  validation_failed: 400,
  unsupported_protocol_version: 400,
  unauthorized: 401,
  invalid_registration_key: 401,
  expired_registration_key: 401,
  revoked_registration_key: 401,
  exhausted_registration_key: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

/** ErrorCode is one key of ERROR_CODES. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** PalisadeError is an error with a stable code that can be shown to the client that caused it. */
export class PalisadeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'PalisadeError';
  }

  /** status is the HTTP status this error is sent with. */
  get status(): number {
    return ERROR_CODES[this.code];
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}
