// A line chart of metric rollups in inline SVG: the average per bucket as a
// line, the band from min to max behind it, one dot per bucket with its
// figures as a tooltip. Coloured by the stylesheet (light and dark).

import { fill, svg } from "./dom.js";
import { formatNumber, formatTime } from "./format.js";

const MARGIN = { left: 52, right: 14, top: 12, bottom: 26 };
// Dots only where they stand apart (8 px or more each); the line alone otherwise.
const DOT_SPACING = 8;

export function lineChart(rows, { width, height, label }) {
  const points = rows
    .map((row) => ({ ...row, at: Date.parse(row.bucket_start) }))
    .filter((row) => Number.isFinite(row.at) && Number.isFinite(row.avg));
  const [x0, x1] = spread(points.map((p) => p.at), 60_000);
  const [y0, y1] = spread(points.flatMap((p) => [p.min, p.max, p.avg]).filter(Number.isFinite), 1);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const x = (at) => MARGIN.left + ((at - x0) / (x1 - x0)) * plotWidth;
  const y = (value) => MARGIN.top + (1 - (value - y0) / (y1 - y0)) * plotHeight;
  const path = (pairs) => pairs.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ");

  const grid = [y0, (y0 + y1) / 2, y1].map((value) =>
    svg(
      "g",
      { class: "grid" },
      svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }),
      svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, formatNumber(value)),
    ),
  );
  const timeLabel = axisTime(x1 - x0);
  const timeLabels = points.length
    ? [
        svg("text", { class: "axis", x: MARGIN.left, y: height - 6, "text-anchor": "start" }, timeLabel.format(x0)),
        svg("text", { class: "axis", x: width - MARGIN.right, y: height - 6, "text-anchor": "end" }, timeLabel.format(x1)),
      ]
    : [];
  const band = points.length > 1
    ? svg("polygon", { class: "band", points: path([...points.map((p) => [x(p.at), y(p.max)]), ...points.toReversed().map((p) => [x(p.at), y(p.min)])]) })
    : null;
  const line = svg("polyline", { class: "line", points: path(points.map((p) => [x(p.at), y(p.avg)])) });
  const dots = points.length <= plotWidth / DOT_SPACING
    ? points.map((p) =>
        svg(
          "circle",
          { class: "dot", cx: x(p.at), cy: y(p.avg), r: 3 },
          svg("title", {}, `${formatTime(p.bucket_start)}: avg ${formatNumber(p.avg)}, min ${formatNumber(p.min)}, max ${formatNumber(p.max)}, ${p.count} point${p.count === 1 ? "" : "s"}`),
        ),
      )
    : [];
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label },
    svg("title", {}, label),
    grid,
    band,
    line,
    dots,
    timeLabels,
  );
}

// Axis labels short enough for a phone: the time of day within a day, the date beyond.
const TIME_OF_DAY = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

function axisTime(span) {
  return span <= 86400_000 ? TIME_OF_DAY : DAY;
}

/** Draw the chart into `box` at the box's own width, again whenever that width changes (a turned phone). */
export function chartIn(box, rows, { height, label, signal }) {
  let drawnWidth = 0;
  const draw = () => {
    const width = Math.max(260, Math.floor(box.clientWidth));
    if (width === drawnWidth) return;
    drawnWidth = width;
    fill(box, lineChart(rows, { width, height, label }));
  };
  const observer = new ResizeObserver(draw);
  observer.observe(box);
  signal.addEventListener("abort", () => observer.disconnect());
  draw();
}

/** [low, high] of the values, never of zero width (one value gets room either side). */
function spread(values, room) {
  if (values.length === 0) return [0, room];
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) {
    const pad = Math.abs(low) * 0.1 || room;
    low -= pad;
    high += pad;
  }
  return [low, high];
}
