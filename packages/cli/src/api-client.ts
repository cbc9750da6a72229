import type { CliConfig } from './config.js';

/** A thin client of the API: the answer's body, or an error that carries the problem. */
export async function callApi(config: CliConfig, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(path, config.POSTLINE_URL), {
    method,
    headers: {
      authorization: `Bearer ${config.POSTLINE_API_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const problem = parsed as { title?: string; detail?: string; errors?: { path: string; message: string }[] } | null;
    const details = problem?.errors?.map((e) => `${e.path} ${e.message}`).join('; ');
    throw new Error(
      `${res.status} ${problem?.title ?? res.statusText}${details ? `: ${details}` : problem?.detail ? `: ${problem.detail}` : ''}`,
    );
  }
  return parsed;
}
