import { findPackage, loadOnce } from '../lazy-module.js';

/**
 * The template engine, loaded with the first template created, previewed or sent: liquidjs added
 * 10-14 MB to the API's resident memory at boot (measured after a GC, the app imported with and
 * without it), and an API that sends no template never needs it (#17: RSS within 150 MB).
 */
export type TemplateEngine = typeof import('./liquid-engine.js');

findPackage('liquidjs', 'The template engine', 'reinstall with npm ci');

export const templateEngine: () => Promise<TemplateEngine> = loadOnce(() => import('./liquid-engine.js'));
