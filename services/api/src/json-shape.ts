import type { FastifyInstance } from 'fastify';
import { JsonTooComplexError } from './errors.js';
import { LARGE_TEXT_CHARS, nextTurn } from './next-turn.js';
import { holdsLoneSurrogate, loneSurrogateProblem } from './unicode-text.js';

/** The deepest a request body may nest objects and arrays. Our deepest schema field is 4 levels down; template variables get the rest. */
export const MAX_JSON_DEPTH = 64;
/** The most keys one object of a request body may have (a batch's array is counted in items, and bounded by its schema). */
export const MAX_OBJECT_KEYS = 10_000;
/**
 * The most values (array elements and object members, counted over the whole body) a request
 * body may hold. The largest request our schemas allow, a batch of 100 emails with every list
 * full, holds about 25,000; template variables get the rest. Why: V8's JSON.parse of a 4 MB body
 * of 1.3 million empty objects held the event loop 724 ms (400 ms for empty lists, 100 ms for a
 * million one-letter strings), where 50,000 took 10-30 ms with the rest of the request.
 */
export const MAX_JSON_VALUES = 50_000;

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;
const isBlank = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;
const tooManyValues = `it holds more than ${MAX_JSON_VALUES} values (array elements and object members)`;

/**
 * Why a JSON text is too complex to parse, or null: a single pass over the text, before
 * JSON.parse, counting nesting, each object's keys and all values outside strings. Why: V8's JSON.parse
 * took 100-150 ms for one object of 300,000 keys (4 MB) and 99 ms for 500,000 nested arrays
 * (1 MB), blocking the event loop, and zod then spent 250 ms more listing 300,000 unknown keys.
 * The scan itself is a few milliseconds for the largest body. Malformed JSON is JSON.parse's to
 * refuse: this only counts.
 */
export function jsonShapeProblem(text: string): string | null {
  // Per open container: its keys so far (an object), or -1 (an array).
  const open: number[] = [];
  // Values: every comma outside strings, and the first value of each container that holds one
  // (the first non-blank character after its opener is not its closer).
  let values = 0;
  let opened = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (opened && !isBlank(c)) {
      opened = false;
      if (c !== CLOSE_OBJECT && c !== CLOSE_ARRAY && ++values > MAX_JSON_VALUES) return tooManyValues;
    }
    if (c === QUOTE) {
      // To the closing quote: one not preceded by an odd number of backslashes.
      let end = text.indexOf('"', i + 1);
      while (end !== -1) {
        let slashes = 0;
        for (let j = end - 1; text.charCodeAt(j) === BACKSLASH; j--) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) return null;
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (open.length === MAX_JSON_DEPTH) return `it nests deeper than ${MAX_JSON_DEPTH} levels`;
      open.push(c === OPEN_OBJECT ? 0 : -1);
      opened = true;
    } else if (c === COMMA) {
      if (++values > MAX_JSON_VALUES) return tooManyValues;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
    } else if (c === COLON && open.length > 0) {
      const keys = (open[open.length - 1] as number) + 1;
      if (keys > MAX_OBJECT_KEYS) return `an object has more than ${MAX_OBJECT_KEYS} keys`;
      if (keys > 0) open[open.length - 1] = keys;
    }
  }
  return null;
}

/**
 * Replaces `app`'s application/json parser with fastify's own (which refuses `__proto__` and
 * `constructor` keys) behind jsonShapeProblem(): a body too complex is a 400
 * EMAIL_ERR_JSON_TOO_COMPLEX, and JSON.parse never sees it. A string holding a lone surrogate is a
 * 400 EMAIL_ERR_VALIDATION naming it (unicode-text.ts), on every route. `emptyIsNoBody`: an empty body is no
 * body, not an error (the resend SDK sends one on cancel).
 */
export function shapedJsonParser(app: FastifyInstance, { emptyIsNoBody = false } = {}): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (emptyIsNoBody && body === '') return done(null, undefined);
    const text = body as string;
    const problem = jsonShapeProblem(text);
    if (problem) return done(Object.assign(new JsonTooComplexError(), { detail: `The body was not parsed: ${problem}` }), undefined);
    const parse = () => {
      if (!holdsLoneSurrogate(text)) return json(request, text, done);
      json(request, text, (error, value) => {
        if (error) return done(error, undefined);
        const lone = loneSurrogateProblem(value);
        done(lone, lone ? undefined : value);
      });
    };
    // A large body is parsed in a turn after the one that joined and decoded it: for 4 MB those
    // took 5-8 ms and JSON.parse 7-16 ms, each beside the rest of its turn's work.
    if (text.length >= LARGE_TEXT_CHARS)
      nextTurn()
        .then(parse)
        .catch((error: Error) => done(error, undefined));
    else parse();
  });
}
