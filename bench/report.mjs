#!/usr/bin/env node
// Re-renders docs/benchmarks.md and the charts from a results file: node bench/report.mjs bench/results/<date>.json
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeReport } from './lib/report.mjs';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/report.mjs bench/results/<date>.json');
const results = JSON.parse(readFileSync(file, 'utf8'));
writeReport(join(dirname(fileURLToPath(import.meta.url)), '..'), results, results.date.slice(0, 10));
