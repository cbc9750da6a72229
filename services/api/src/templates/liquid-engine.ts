import { Liquid, Tag, type TagToken, type Template } from 'liquidjs';
import { chargeOutput } from './charged-output.js';
import { RENDER_LIMIT_MS, type TemplateSource, TemplateSourceError } from './limits.js';

/** Objects and characters a render may create (loops, joins, output, captures): bounds memory as renderLimit bounds time. */
const MEMORY_LIMIT = 4_000_000;

/** Templates are self-contained: nothing is read from a file system or the network. */
const FILE_TAGS = ['include', 'render', 'layout'];

class Refused extends Tag {
  constructor(token: TagToken, remain: ConstructorParameters<typeof Tag>[1], liquid: Liquid) {
    super(token, remain, liquid);
    throw new Error(`the {% ${token.name} %} tag is not available: a template cannot read other files`);
  }
  *render(): Generator<unknown, void, unknown> {}
}

function engine(escapeHtml: boolean): Liquid {
  const liquid = new Liquid({
    // A variable the template uses but the send did not give is an error, never an empty string.
    strictVariables: true,
    strictFilters: true,
    // Only the variables' own data: no prototype properties (constructor, __proto__, …).
    ownPropertyOnly: true,
    // An empty in-memory mapping instead of the file system.
    templates: {},
    parseLimit: 4 * 512 * 1024,
    renderLimit: RENDER_LIMIT_MS,
    memoryLimit: MEMORY_LIMIT,
    ...(escapeHtml ? { outputEscape: 'escape' as const } : {}),
  });
  for (const name of FILE_TAGS) liquid.registerTag(name, Refused);
  chargeOutput(liquid);
  return liquid;
}

/**
 * Liquid (liquidjs): logic-less enough (no code execution, no host objects), strict about
 * variables, and in the html part every output is HTML-escaped unless the template author
 * wrote `| raw`. The subject and text parts are plain text: nothing to escape.
 */
const html = engine(true);
const plain = engine(false);

export interface CompiledParts {
  subject: Template[];
  html: Template[] | null;
  text: Template[] | null;
}

/** Parses the parts; throws a ParseError (or a refused tag) with the part's name. */
export function compile(source: TemplateSource): CompiledParts {
  const part = (name: keyof TemplateSource, liquid: Liquid, src: string) => {
    try {
      return liquid.parse(src);
    } catch (error) {
      throw new TemplateSourceError(name, (error as Error).message);
    }
  };
  return {
    subject: part('subject', plain, source.subject),
    html: source.html === null ? null : part('html', html, source.html),
    text: source.text === null ? null : part('text', plain, source.text),
  };
}

/** The top-level variables each part uses (not those it assigns or loops over itself). */
export function usedVariables(compiled: CompiledParts): Map<keyof TemplateSource, string[]> {
  const used = new Map<keyof TemplateSource, string[]>();
  used.set('subject', plain.globalVariablesSync(compiled.subject));
  if (compiled.html) used.set('html', html.globalVariablesSync(compiled.html));
  if (compiled.text) used.set('text', plain.globalVariablesSync(compiled.text));
  return used;
}

export interface Rendered {
  subject: string;
  html?: string;
  text?: string;
}

/**
 * Renders every part with the (already checked) variables, within `deadline` (performance.now() ms) for all
 * of them: a request's renders share one budget. Throws on a limit or a strict-variable miss.
 */
export function renderParts(compiled: CompiledParts, variables: Record<string, unknown>, deadline: number): Rendered {
  const limit = () => ({ renderLimit: Math.max(1, Math.min(RENDER_LIMIT_MS, deadline - performance.now())) });
  const out: Rendered = { subject: String(plain.renderSync(compiled.subject, variables, limit())) };
  if (compiled.html) out.html = String(html.renderSync(compiled.html, variables, limit()));
  if (compiled.text) out.text = String(plain.renderSync(compiled.text, variables, limit()));
  return out;
}
