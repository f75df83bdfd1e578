/**
 * Every error Lifeline reports: an `Error` with a stable string `code` to branch on.
 *
 * @example
 * ll.on('error', (e) => { if (e.error.code === 'LL_ERR_PROTOCOL') report(e.error) })
 */
export class LifelineError extends Error {
  /**
   * @param code stable identifier, one of {@link ErrorCode}.
   * @param message what went wrong, for people.
   */
  constructor(
    public readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'LifelineError'
  }
}

/** The codes a {@link LifelineError} can carry (see README "Errors"). */
export type ErrorCode =
  | 'LL_ERR_INVALID_URL'
  | 'LL_ERR_INVALID_OPTION'
  | 'LL_ERR_INVALID_STATE'
  | 'LL_ERR_INVALID_DATA'
  | 'LL_ERR_MESSAGE_TOO_BIG'
  | 'LL_ERR_BUFFER_FULL'
  | 'LL_ERR_PROTOCOL'
  | 'LL_ERR_NO_TRANSPORT'
  | 'LL_ERR_SERVER'
  | 'LL_ERR_TIMEOUT'
  | 'LL_ERR_RESET'
  | 'LL_ERR_UPLOAD_REFUSED'
