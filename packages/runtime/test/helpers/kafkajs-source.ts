import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const Module = require('node:module') as {
  new (id: string): { filename: string; paths: string[]; exports: unknown; _compile(text: string, file: string): void };
  _nodeModulePaths(file: string): string[];
};

/** A patch of scripts/: the text kafkajs ships, and ours. */
export interface KafkajsPatch {
  original: string;
  patched: string;
}

/** A patch object exported by one of scripts/kafkajs-*-patch.mjs. */
export async function patchFrom(script: string, name: string): Promise<KafkajsPatch> {
  const module = (await import(pathToFileURL(join(import.meta.dirname, '../../../../scripts', script)).href)) as Record<
    string,
    KafkajsPatch
  >;
  const patch = module[name];
  if (!patch) throw new Error(`scripts/${script} exports no ${name}`);
  return patch;
}

/**
 * A kafkajs module (`kafkajs/src/…`) compiled where it lies, so its own requires resolve: the
 * installed (patched) text, or with `patches` undone, the text kafkajs ships. A test runs both to
 * show what the patch changes.
 */
export function kafkajsModule<T>(path: string, version: 'installed' | 'original', patches: KafkajsPatch | KafkajsPatch[]): T {
  const file = require.resolve(path);
  let text = readFileSync(file, 'utf8');
  if (version === 'original') {
    for (const patch of [patches].flat()) {
      if (!text.includes(patch.patched)) throw new Error(`${path} does not carry the patch's text`);
      text = text.replace(patch.patched, patch.original);
    }
  }
  const m = new Module(file);
  m.filename = file;
  m.paths = Module._nodeModulePaths(file);
  m._compile(text, file);
  return m.exports as T;
}
