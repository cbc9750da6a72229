/**
 * An error the user can fix. The CLIs print only its message (one sentence that says what to do),
 * never a stack trace.
 */
export class StackError extends Error {
  override readonly name = 'StackError';
}
