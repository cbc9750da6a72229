import { type Context, type Emitter, type Liquid, toValue } from 'liquidjs';
import { MAX_RENDERED_BYTES } from './limits.js';

/**
 * Characters one part's render may write in all, its output and every capture together: room
 * for the largest part (1 MiB) captured and then written, twice over.
 */
export const MAX_WRITTEN_CHARS = 4 * MAX_RENDERED_BYTES;

class WriteBudget {
  private left = MAX_WRITTEN_CHARS;
  use(chars: number): void {
    if (chars > this.left) throw new Error(`template output limit exceeded (${MAX_WRITTEN_CHARS} characters, captures included)`);
    this.left -= chars;
  }
}

/** liquidjs' own stringify (not exported), charging each string before any join. */
function text(value: unknown, budget: WriteBudget): string {
  const v = toValue(value);
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map((item) => text(item, budget)).join('');
  const s = typeof v === 'string' ? v : String(v);
  budget.use(s.length);
  return s;
}

class ChargedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly budget: WriteBudget) {}
  write(html: unknown): void {
    this.buffer += text(html, this.budget);
  }
}

/**
 * liquidjs charges its filters (append, join, split, …) to `memoryLimit`, but not what a
 * template writes: its output and its `{% capture %}` buffers. Those grow as V8 ropes, which
 * cost nothing until something reads them flat: `{% capture s %}{{ s }}{{ s }}{% endcapture %}`
 * eight times doubled a 1 MB variable to 256 MB, `s contains "b"` read it flat, and the API died
 * of a full heap. Every emitter a render creates (the part's own and each capture's; a render
 * is one Context, shared by its captures and loops) now draws on one budget for the render, so
 * no string a template builds, nor all of them together, can pass MAX_WRITTEN_CHARS.
 */
export function chargeOutput(liquid: Liquid): void {
  const budgets = new WeakMap<Context, WriteBudget>();
  const renderer = liquid.renderer;
  const renderTemplates = renderer.renderTemplates.bind(renderer);
  renderer.renderTemplates = (templates, ctx, emitter) => {
    if (emitter) return renderTemplates(templates, ctx, emitter);
    const budget = budgets.get(ctx) ?? new WriteBudget();
    budgets.set(ctx, budget);
    return renderTemplates(templates, ctx, new ChargedEmitter(budget));
  };
}
