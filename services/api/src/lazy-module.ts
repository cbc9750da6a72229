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
