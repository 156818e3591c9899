/** Operational errors with stable codes (STYLE.md §5). Layer 0: importable everywhere. */

/** Every operational error code the implementation raises. Listed in docs/ERRORS.md. */
export type ErrorCode =
  | 'DECODE_ERROR'
  | 'FRAME_TOO_LARGE'
  | 'HANDSHAKE_FAILED'
  | 'NETWORK_KEY_MISMATCH'
  | 'INVALID_SIGNATURE'
  | 'INVALID_CONTENT'
  | 'FEED_INTEGRITY'
  | 'NOT_FOUND'
  | 'STORE_ERROR'
  | 'IDENTITY_ERROR'
  | 'CONFIG_ERROR'
  | 'API_ERROR'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'CLOSED'
  | 'IO_ERROR'
  | 'QUOTA_EXCEEDED'

/** An expected, operational failure. Callers branch on `code`, never on the message text. */
export class EgregoreError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EgregoreError'
    this.code = code
  }
}

/** True when `err` is an EgregoreError, optionally with the given code. */
export function isEgregoreError(err: unknown, code?: ErrorCode): err is EgregoreError {
  return err instanceof EgregoreError && (code === undefined || err.code === code)
}
