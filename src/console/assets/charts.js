// Plain SVG bar charts for the KPI tab: no chart library, a few hundred bytes per chart. Each
// bar has a <title> (its exact value on hover) and the chart an accessible name.

const SVG = 'http://www.w3.org/2000/svg';

function node(name, attributes = {}, text) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/// Vertical bars, one per item: `items` = [{label, value, tip}], labels under every
/// `labelEvery`-th bar.
export function columnChart(title, items, { width = 320, height = 140, labelEvery = 1 } = {}) {
  const svg = node('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, class: 'chart' });
  svg.append(node('title', {}, title));
  const top = Math.max(1, ...items.map((i) => i.value));
  const plot = height - 34;
  const step = width / Math.max(1, items.length);
  svg.append(node('text', { x: 2, y: 10, class: 'chart-axis' }, String(top)));
  svg.append(node('line', { x1: 0, x2: width, y1: plot + 14, y2: plot + 14, class: 'chart-base' }));
  items.forEach((item, i) => {
    const h = (item.value / top) * plot;
    const bar = node('rect', {
      x: i * step + step * 0.15, y: plot + 14 - h, width: step * 0.7, height: Math.max(h, 0), class: 'chart-bar',
      'data-value': item.value,
    });
    bar.append(node('title', {}, item.tip ?? `${item.label}: ${item.value}`));
    svg.append(bar);
    if (i % labelEvery === 0) {
      svg.append(node('text', { x: i * step + step / 2, y: height - 4, 'text-anchor': 'middle', class: 'chart-axis' }, item.label));
    }
  });
  return svg;
}

/// Horizontal bars with their label and value: `items` = [{label, value}].
export function barChart(title, items, { width = 320, row = 18 } = {}) {
  const height = Math.max(1, items.length) * row + 16;
  const svg = node('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, class: 'chart' });
  svg.append(node('title', {}, title));
  const top = Math.max(1, ...items.map((i) => i.value));
  const labelWidth = 120;
  items.forEach((item, i) => {
    const y = 8 + i * row;
    svg.append(node('text', { x: labelWidth - 4, y: y + row * 0.65, 'text-anchor': 'end', class: 'chart-axis' }, item.label));
    const w = (item.value / top) * (width - labelWidth - 40);
    const bar = node('rect', { x: labelWidth, y: y + 2, width: Math.max(w, 0), height: row - 5, class: 'chart-bar', 'data-value': item.value });
    bar.append(node('title', {}, `${item.label}: ${item.value}`));
    svg.append(bar);
    svg.append(node('text', { x: labelWidth + w + 4, y: y + row * 0.65, class: 'chart-axis' }, String(item.value)));
  });
  return svg;
}
