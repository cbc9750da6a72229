// Plain SVG bar charts, written by the benchmark itself (no plotting dependency).
const esc = (s) => String(s).replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);

/** bars: [{ label, value, min?, max? }] → an SVG with one horizontal bar each (whiskers for min–max). */
export function barChart(title, unit, bars) {
  const width = 720;
  const row = 34;
  const left = 230;
  const top = 40;
  const height = top + bars.length * row + 30;
  const max = Math.max(...bars.map((b) => b.max ?? b.value)) * 1.1 || 1;
  const x = (v) => left + ((width - left - 90) * v) / max;
  const rows = bars
    .map((b, i) => {
      const y = top + i * row;
      const whisker =
        b.min !== undefined && b.max !== undefined
          ? `<line x1="${x(b.min)}" x2="${x(b.max)}" y1="${y + 12}" y2="${y + 12}" stroke="#333" stroke-width="1.5"/>`
          : '';
      return `<text x="${left - 8}" y="${y + 16}" text-anchor="end" font-size="13">${esc(b.label)}</text>
<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(b.value) - left)}" height="18" fill="${b.color ?? '#4a7bd0'}"/>${whisker}
<text x="${x(b.max ?? b.value) + 6}" y="${y + 16}" font-size="12">${esc(Number(b.value).toLocaleString('en', { maximumFractionDigits: 1 }))} ${esc(unit)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" role="img">
<title>${esc(title)}</title>
<rect width="100%" height="100%" fill="white"/>
<text x="12" y="24" font-size="16" font-weight="bold">${esc(title)}</text>
${rows}
</svg>
`;
}
