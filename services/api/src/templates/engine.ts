/**
 * The template engine, loaded with the first template created, previewed or sent: liquidjs added
 * 10-14 MB to the API's resident memory at boot (measured after a GC, the app imported with and
 * without it), and an API that sends no template never needs it (#17: RSS within 150 MB). As
 * with SMTP submission's parser (submission/lazy-parser.ts), the package is found at boot, so an
 * install without it fails to start rather than at the first template, and a failed load is
 * tried again with the next template.
 */
export type TemplateEngine = typeof import('./liquid-engine.js');

try {
  import.meta.resolve('liquidjs');
} catch (error) {
  throw new Error(`Templates need the liquidjs package, which cannot be found (${(error as Error).message}): reinstall with npm ci`, {
    cause: error,
  });
}

let loading: Promise<TemplateEngine> | null = null;

export function templateEngine(): Promise<TemplateEngine> {
  loading ??= import('./liquid-engine.js').catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}
