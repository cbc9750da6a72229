/** A configuration problem, stated as one sentence that says what to fix. Entry points print only the message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
