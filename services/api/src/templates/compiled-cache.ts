import type { CompiledParts } from './liquid-engine.js';

/** Compiled versions kept at most. */
const MAX_ENTRIES = 500;
/**
 * Characters of source the kept versions may hold in all. A compiled template keeps its source
 * alive (its tokens are slices of it): 500 versions of the largest size (three parts of 512 KiB)
 * would have held 750 MB, and 60 measured 63 MB of heap. 16 Mi characters hold the published
 * versions of any ordinary set of templates, and a render of one that was dropped compiles it again.
 */
export const MAX_CACHED_CHARS = 16 * 1024 * 1024;

/** Least recently used first out, bounded by count and by source size. */
export class CompiledCache {
  private readonly entries = new Map<string, { parts: CompiledParts; chars: number }>();
  private chars = 0;

  /** Characters of source held now. */
  get heldChars(): number {
    return this.chars;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The compiled version under `key`, compiled by `compile` (from `chars` of source) when not held. */
  get(key: string, chars: number, compile: () => CompiledParts): CompiledParts {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.parts;
    }
    const parts = compile();
    this.entries.set(key, { parts, chars });
    this.chars += chars;
    for (const [oldest, entry] of this.entries) {
      if (this.chars <= MAX_CACHED_CHARS && this.entries.size <= MAX_ENTRIES) break;
      this.entries.delete(oldest);
      this.chars -= entry.chars;
    }
    return parts;
  }
}
