import { createRequire } from 'node:module';

/**
 * libmime and libbase64 as mailsplit and mailparser's CommonJS build load them (mailparser.ts):
 * imported as ES modules they were a second copy of each, libmime's charset tables included.
 */
const require = createRequire(import.meta.url);
export const libmime = require('libmime') as typeof import('libmime').default;
export const libbase64 = require('libbase64') as typeof import('libbase64');
