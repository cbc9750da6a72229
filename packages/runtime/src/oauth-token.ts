/**
 * Access tokens for SASL OAUTHBEARER, by the OAuth 2.0 client-credentials grant (RFC 6749 §4.4),
 * as Kafka's own clients get them (`sasl.oauthbearer.token.endpoint.url`): the client's id and
 * secret in HTTP Basic (§2.3.1), an optional scope. kafkajs asks for a token each time it
 * authenticates a connection, and again on a connection whose session a broker bounds
 * (`connections.max.reauth.ms`: then to the token's expiry) once under 10 s of it is left
 * (its `reauthenticationThreshold`). So one token is kept and shared by every client of the
 * process, and a new one is fetched once 80 % of its lifetime has passed (Kafka's
 * `sasl.login.refresh.window.factor`), and at least 15 s before it expires, so a re-authentication
 * gets a token with more than those 10 s left (else it would be asked again at every request until
 * the renewal). If a renewal fails while the old token is still valid, the old one is used.
 * Concurrent asks share one request. An error names the endpoint and its answer, never the secret.
 */
export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

/** A token endpoint that has not answered in this long has failed (kafkajs then retries the connection). */
export const TOKEN_TIMEOUT_MS = 10_000;
/** The share of a token's lifetime after which a new one is fetched. */
const REFRESH_AT = 0.8;
/** A new token is fetched at least this long before the old one expires (above kafkajs' 10 s). */
const REFRESH_BEFORE_MS = 15_000;
/** A lifetime the endpoint did not state (no `expires_in`, no JWT `exp`): short, so a revoked token ages out. */
const UNSTATED_LIFETIME_S = 60;

interface Held {
  value: string;
  refreshAt: number;
  expiresAt: number;
}

export class OAuthTokenSource {
  private held: Held | null = null;
  private pending: Promise<Held> | null = null;

  constructor(
    private readonly credentials: ClientCredentials,
    private readonly options: { fetch?: typeof fetch; now?: () => number; timeoutMs?: number } = {},
  ) {}

  /** kafkajs' `oauthBearerProvider`. */
  readonly token = async (): Promise<{ value: string }> => {
    const now = this.now();
    const held = this.held;
    if (held && now < held.refreshAt) return { value: held.value };
    try {
      this.pending ??= this.fetchToken().finally(() => {
        this.pending = null;
      });
      this.held = await this.pending;
    } catch (error) {
      if (held && this.now() < held.expiresAt) return { value: held.value };
      throw error;
    }
    return { value: this.held.value };
  };

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async fetchToken(): Promise<Held> {
    const { tokenUrl, clientId, clientSecret, scope } = this.credentials;
    const where = endpointName(tokenUrl);
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const started = this.now();
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(tokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? TOKEN_TIMEOUT_MS),
      });
    } catch (error) {
      const { cause, name } = error as Error & { cause?: { code?: string; message?: string } };
      const why = cause?.code ?? cause?.message ?? name;
      throw new Error(`OAuth token endpoint ${where} could not be reached (${why})`);
    }
    const text = await response.text();
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not JSON: said below by status, or as a missing token.
    }
    if (!response.ok) {
      const code = typeof body.error === 'string' ? `: ${body.error.slice(0, 100)}` : '';
      throw new Error(`OAuth token endpoint ${where} answered ${response.status}${code}`);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new Error(`OAuth token endpoint ${where} answered without an access_token`);
    }
    const lifetimeS =
      typeof body.expires_in === 'number' && body.expires_in > 0
        ? body.expires_in
        : (jwtLifetime(body.access_token, started) ?? UNSTATED_LIFETIME_S);
    const lifetimeMs = lifetimeS * 1000;
    const refreshAfterMs = Math.max(0, Math.min(lifetimeMs * REFRESH_AT, lifetimeMs - REFRESH_BEFORE_MS));
    return { value: body.access_token, refreshAt: started + refreshAfterMs, expiresAt: started + lifetimeMs };
  }
}

/** The endpoint without credentials or query, for messages. */
function endpointName(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** Seconds from `now` to a JWT's `exp`, when the token is a JWT that has one. */
function jwtLifetime(token: string, now: number): number | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' && payload.exp * 1000 > now ? (payload.exp * 1000 - now) / 1000 : null;
  } catch {
    return null;
  }
}
