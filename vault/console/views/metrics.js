// Metrics: a chart of rollups per metric (minute, hour or day buckets), and
// one metric with its chart, its buckets and the raw points behind them.

import { enc, getJson, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { formatNumber, timeElement } from "../format.js";
import { chartIn } from "../chart.js";
import { navigate } from "../router.js";

// How far back each bucket size looks: enough buckets to see a shape, never more than a page.
const WINDOWS = { minute: 6 * 3600_000, hour: 7 * 86400_000, day: 120 * 86400_000 };
const WINDOW_NAMES = { minute: "the last 6 hours", hour: "the last 7 days", day: "the last 120 days" };
// The names are found among the newest raw points (there is no list of names in the API).
const DISCOVERY_POINTS = 1000;
const RAW_PAGE = 25;

function bucketOf(query) {
  return Object.hasOwn(WINDOWS, query.get("bucket") ?? "") ? query.get("bucket") : "hour";
}

function rollupPath(metricName, entityName, bucket) {
  const start = new Date(Date.now() - WINDOWS[bucket]).toISOString();
  return withQuery("/storage/metrics/rollups", { metric_name: metricName, entity_name: entityName, bucket, start_time: start, limit: 1000 });
}

function bucketLinks(path, filters, bucket) {
  return h(
    "nav",
    { class: "segmented", "aria-label": "Bucket size" },
    Object.keys(WINDOWS).map((size) =>
      h("a", { href: withQuery(path, { ...filters, bucket: size }), "aria-current": size === bucket ? "page" : null }, size),
    ),
  );
}

export async function metricsView(main, { query, signal }) {
  const bucket = bucketOf(query);
  const entityName = query.get("entity_name") ?? "";
  const { data: points } = await getJson(withQuery("/storage/metrics", { entity_name: entityName, limit: DISCOVERY_POINTS }), { signal });
  const names = [...new Set(points.map((point) => point.metric_name))].sort();
  const entities = [...new Set(points.map((point) => point.entity_name))].sort();
  const rollups = await Promise.all(names.map((name) => getJson(rollupPath(name, entityName, bucket), { signal })));
  document.title = "Metrics · The Vault";
  const charts = [];
  const cards = names.map((name, index) => {
    const rows = rollups[index].data;
    const href = withQuery(`/ui/metrics/${enc(name)}`, { entity_name: entityName, bucket });
    return h(
      "section",
      { class: "card metric" },
      h("h2", {}, h("a", { href }, name)),
      rows.length
        ? [chartBox(charts, rows, 180, `${name}, average per ${bucket}, ${WINDOW_NAMES[bucket]}`), summary(rows)]
        : h("p", { class: "empty" }, `No ${bucket} rollups in ${WINDOW_NAMES[bucket]} yet (the rollup job folds new points every VAULT_ROLLUP_SECONDS).`),
    );
  });
  fill(
    main,
    h("h1", {}, "Metrics"),
    h("div", { class: "toolbar" }, entityFilter(entities, entityName, bucket), bucketLinks("/ui/metrics", { entity_name: entityName }, bucket)),
    names.length ? h("div", { class: "metric-grid" }, cards) : h("p", { class: "empty" }, "No metric points recorded yet."),
  );
  drawCharts(charts, signal);
}

// Charts are drawn once their boxes are on the page, at the width those boxes have.
function chartBox(charts, rows, height, label) {
  const box = h("div", { class: "chart-box" });
  charts.push({ box, rows, height, label });
  return box;
}

function drawCharts(charts, signal) {
  for (const { box, rows, height, label } of charts) chartIn(box, rows, { height, label, signal });
}

function entityFilter(entities, current, bucket) {
  const select = h(
    "select",
    { id: "filter-entity", name: "entity_name" },
    h("option", { value: "" }, "every entity"),
    [...new Set([...entities, current].filter(Boolean))].map((name) => h("option", { value: name, selected: name === current }, name)),
  );
  const submit = (event) => {
    event.preventDefault();
    navigate(withQuery("/ui/metrics", { entity_name: select.value, bucket }));
  };
  return h(
    "form",
    { class: "filters inline", action: "/ui/metrics", method: "get", onsubmit: submit },
    h("input", { type: "hidden", name: "bucket", value: bucket }),
    h("div", { class: "field" }, h("label", { for: "filter-entity" }, "Entity"), select),
    h("div", { class: "field actions" }, h("button", { type: "submit" }, "Show")),
  );
}

function summary(rows) {
  const last = rows.at(-1);
  const count = rows.reduce((total, row) => total + row.count, 0);
  return h("p", { class: "muted small" }, `Latest avg ${formatNumber(last.avg)} · ${rows.length} buckets · ${count.toLocaleString()} points`);
}

export async function metricView(main, { params: [name], query, signal }) {
  const bucket = bucketOf(query);
  const entityName = query.get("entity_name") ?? "";
  const rawPath = withQuery("/storage/metrics", { metric_name: name, entity_name: entityName, limit: RAW_PAGE });
  const [{ data: rows }, raw] = await Promise.all([
    getJson(rollupPath(name, entityName, bucket), { signal }),
    getJson(rawPath, { signal }),
  ]);
  document.title = `${name} · Metrics · The Vault`;
  const charts = [];
  const rawBody = h("tbody", {}, raw.data.map(pointRow));
  const more = h("div", { class: "more" });
  let nextUrl = raw.next;
  const showMore = () => {
    fill(more, nextUrl ? h("button", { type: "button", onclick: loadMore }, "More points") : null);
  };
  async function loadMore() {
    try {
      const page = await getJson(nextUrl, { signal });
      rawBody.append(...page.data.map(pointRow));
      nextUrl = page.next;
      showMore();
    } catch (error) {
      if (!signal.aborted) fill(more, h("p", { class: "error", role: "alert" }, `More points could not be loaded: ${error.message}`));
    }
  }
  showMore();
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: withQuery("/ui/metrics", { entity_name: entityName, bucket }) }, "Metrics"), entityName ? [" / ", entityName] : null),
    h("h1", { class: "wrap" }, name),
    h("div", { class: "toolbar" }, bucketLinks(`/ui/metrics/${enc(name)}`, { entity_name: entityName }, bucket)),
    h(
      "section",
      { class: "card" },
      h("h2", {}, `Average per ${bucket}, ${WINDOW_NAMES[bucket]}`),
      rows.length
        ? [chartBox(charts, rows, 260, `${name}, average per ${bucket}, with min and max`), summary(rows), bucketTable(rows)]
        : h("p", { class: "empty" }, `No ${bucket} rollups in ${WINDOW_NAMES[bucket]} yet.`),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Raw points, newest first"),
      raw.data.length
        ? h(
            "table",
            { class: "list points" },
            h("thead", {}, h("tr", {}, ["Time", "Value", "Entity", "Session", "Labels"].map((label) => h("th", { scope: "col" }, label)))),
            rawBody,
          )
        : h("p", { class: "empty" }, "No raw points are kept for this metric (they pass their retention; the rollups stay)."),
      more,
    ),
  );
  drawCharts(charts, signal);
}

function bucketTable(rows) {
  return h(
    "details",
    { class: "raw" },
    h("summary", {}, "Buckets as a table"),
    h(
      "table",
      { class: "list buckets" },
      h("thead", {}, h("tr", {}, ["Bucket", "Count", "Avg", "Min", "Max"].map((label) => h("th", { scope: "col" }, label)))),
      h(
        "tbody",
        {},
        rows.toReversed().map((row) =>
          h(
            "tr",
            {},
            h("td", { "data-label": "Bucket" }, timeElement(row.bucket_start)),
            h("td", { "data-label": "Count", class: "num" }, String(row.count)),
            h("td", { "data-label": "Avg", class: "num" }, formatNumber(row.avg)),
            h("td", { "data-label": "Min", class: "num" }, formatNumber(row.min)),
            h("td", { "data-label": "Max", class: "num" }, formatNumber(row.max)),
          ),
        ),
      ),
    ),
  );
}

function pointRow(point) {
  const labels = Object.entries(point.labels ?? {}).map(([key, value]) => `${key}=${value}`).join(", ");
  return h(
    "tr",
    {},
    h("td", { "data-label": "Time" }, timeElement(point.timestamp)),
    h("td", { "data-label": "Value", class: "num" }, formatNumber(point.value)),
    h("td", { "data-label": "Entity" }, point.entity_name),
    h("td", { "data-label": "Session" }, point.session_id ? h("a", { href: `/ui/sessions/${enc(point.session_id)}`, class: "mono small" }, point.session_id) : "—"),
    h("td", { "data-label": "Labels", class: "small" }, labels || "—"),
  );
}
