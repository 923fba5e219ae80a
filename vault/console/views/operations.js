// Operations: the service, its scheduled jobs, its backups and, where the
// service reports them, its storage figures. The administration routes may
// need an administration key: a 403 is said in its section, the rest still shows.

import { getJson, KeyNeeded, KeyNotAllowed, serviceHas } from "../api.js";
import { fill, h } from "../dom.js";
import { formatBytes, formatNumber, timeElement } from "../format.js";
import { notAllowed } from "./key.js";

const STORAGE_PATH = "/storage/admin/storage";

export async function operationsView(main, { signal }) {
  const read = (path) =>
    getJson(path, { signal }).then(
      ({ data }) => ({ data }),
      (error) => {
        if (error instanceof KeyNeeded || error?.name === "AbortError") throw error;
        return { error };
      },
    );
  const [health, jobs, backups, storage] = await Promise.all([
    read("/health"),
    read("/storage/admin/jobs"),
    read("/storage/admin/backups"),
    serviceHas(STORAGE_PATH).then((present) => (present ? read(STORAGE_PATH) : { absent: true })),
  ]);
  document.title = "Operations · The Vault";
  fill(
    main,
    h("h1", {}, "Operations"),
    section("Service", health, serviceFacts),
    section("Scheduled jobs", jobs, jobTable),
    section("Backups", backups, backupTable),
    section("Storage", storage, storageTable),
  );
}

function section(title, result, draw) {
  let body;
  if (result.absent) body = h("p", { class: "empty" }, "This service does not report storage figures (no GET /storage/admin/storage).");
  else if (result.error instanceof KeyNotAllowed) body = notAllowed();
  else if (result.error) body = h("p", { class: "error" }, `Could not be read: ${result.error.message}`);
  else body = draw(result.data);
  return h("section", { class: "card" }, h("h2", {}, title), body);
}

function serviceFacts(health) {
  const backends = Object.entries(health.backends ?? {}).map(([kind, where]) => `${kind}: ${where}`).join(" · ");
  return h(
    "dl",
    { class: "facts" },
    h("div", {}, h("dt", {}, "Status"), h("dd", {}, health.status)),
    h("div", {}, h("dt", {}, "Version"), h("dd", {}, health.version)),
    h("div", {}, h("dt", {}, "Backends"), h("dd", {}, backends || health.backend)),
  );
}

function seconds(value) {
  return value < 0.01 ? "under 0.01 s" : `${formatNumber(value)} s`;
}

function outcomeBadge(outcome) {
  const known = ["ok", "error", "missed", "skipped"].includes(outcome) ? outcome : "other";
  return outcome ? h("span", { class: `badge outcome-${known}` }, outcome) : h("span", { class: "muted" }, "not run yet");
}

function jobTable(jobs) {
  if (!jobs.length) return h("p", { class: "empty" }, "No scheduled jobs.");
  return h(
    "table",
    { class: "list jobs" },
    h("thead", {}, h("tr", {}, ["Job", "Next run", "Last outcome", "Last finished", "Runs"].map((label) => h("th", { scope: "col" }, label)))),
    h(
      "tbody",
      {},
      jobs.map((job) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "Job" }, h("strong", {}, job.id), h("div", { class: "small muted" }, job.description)),
          h("td", { "data-label": "Next run" }, timeElement(job.next_run)),
          h(
            "td",
            { "data-label": "Last outcome" },
            outcomeBadge(job.last_outcome),
            typeof job.last_duration_seconds === "number" ? h("span", { class: "small muted" }, ` ${seconds(job.last_duration_seconds)}`) : null,
            job.last_error ? h("div", { class: "small error" }, job.last_error) : null,
            job.last_result !== null && job.last_result !== undefined ? h("div", { class: "small mono muted wrap" }, JSON.stringify(job.last_result)) : null,
          ),
          h("td", { "data-label": "Last finished" }, timeElement(job.last_finished)),
          h("td", { "data-label": "Runs", class: "num" }, `${job.runs}`, job.failures ? h("span", { class: "error" }, ` (${job.failures} failed)`) : null),
        ),
      ),
    ),
  );
}

function backupTable(backups) {
  if (!backups.length) return h("p", { class: "empty" }, "No backups yet.");
  return h(
    "table",
    { class: "list backups" },
    h("thead", {}, h("tr", {}, ["File", "Size", "Created"].map((label) => h("th", { scope: "col" }, label)))),
    h(
      "tbody",
      {},
      backups.map((backup) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "File", class: "mono small wrap" }, backup.file),
          h("td", { "data-label": "Size", class: "num" }, formatBytes(backup.size)),
          h("td", { "data-label": "Created" }, timeElement(backup.created_at)),
        ),
      ),
    ),
  );
}

function storageTable(figures) {
  // An object of kinds ({messages: {count, raw_bytes, stored_bytes}, ...}) beside when it was measured.
  const rows = Object.entries(figures ?? {}).filter(([, row]) => row !== null && typeof row === "object");
  const table = h(
    "table",
    { class: "list storage" },
    h("thead", {}, h("tr", {}, ["Kind", "Count", "As sent", "As kept"].map((label) => h("th", { scope: "col" }, label)))),
    h(
      "tbody",
      {},
      rows.map(([kind, row]) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "Kind" }, String(kind)),
          h("td", { "data-label": "Count", class: "num" }, String(row?.count ?? "—")),
          h("td", { "data-label": "As sent", class: "num" }, formatBytes(row?.raw_bytes)),
          h("td", { "data-label": "As kept", class: "num" }, formatBytes(row?.stored_bytes)),
        ),
      ),
    ),
  );
  if (!figures?.measured_at) return table;
  return h("div", {}, table, h("p", { class: "small" }, "Measured ", timeElement(figures.measured_at)));
}
