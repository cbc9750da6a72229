import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/**
 * For a module loaded on first use rather than at boot (submission's MIME parser, the template
 * engine: megabytes of RSS an API may never need). The package is found now, without loading
 * it (resolving reads no module), so an install without it fails at boot in one sentence that
 * names `feature` and `remedy`, not at the first use. Returns the package's URL.
 */
export function findPackage(specifier: string, feature: string, remedy: string): string {
  try {
    return import.meta.resolve(specifier);
  } catch (error) {
    throw new Error(`${feature} needs the ${specifier} package, which cannot be found (${(error as Error).message}): ${remedy}`, {
      cause: error,
    });
  }
}

/** `load` run once, by the first call; a failed load is tried again by the next call. */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | null = null;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = null;
      throw error;
    });
    return loading;
  };
}

/**
 * Puts a stand-in for the CommonJS module `specifier` (as `parentUrl` resolves it) in require's
 * cache, so a package that requires it at load but uses it rarely or never does not load it.
 * The stand-in loads the real module on its first property read and answers from it after.
 * For mailparser's html-to-text (8.5 MB of RSS loaded alone), which it calls only for an HTML part
 * without a text, and readMessage turns that off (skipHtmlToText). Node documents adding entries
 * to require.cache. A module already loaded is left as it is.
 */
export function deferModule(parentUrl: string, specifier: string): void {
  const require = createRequire(parentUrl);
  const path = require.resolve(specifier);
  if (require.cache[path]) return;
  let real: object | undefined;
  const load = (): object => {
    if (!real) {
      delete require.cache[path];
      real = require(path) as object;
    }
    return real;
  };
  const exports = new Proxy({}, { get: (_target, key) => Reflect.get(load(), key), has: (_target, key) => Reflect.has(load(), key) });
  require.cache[path] = { id: path, filename: path, path: dirname(path), loaded: true, exports, children: [] } as unknown as NodeJS.Module;
}
