// Artifacts: the list (all, or one session's), and one artifact with its preview and download.

import { enc, getJson, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { formatBytes, prettyJson, timeElement } from "../format.js";
import { navigate } from "../router.js";
import { contentPath, downloadLink, preview } from "../preview.js";
import { offsetOf, PAGE_SIZE, pager } from "./paging.js";
import { sessionHeader } from "./session_header.js";

async function listPage(filters, query, signal) {
  const offset = offsetOf(query);
  const path = withQuery("/storage/artifacts", { ...filters, limit: PAGE_SIZE, offset: offset || null });
  const { data, next } = await getJson(path, { signal });
  return { data, next, offset };
}

export async function artifactsView(main, { query, signal }) {
  const filters = { session_id: query.get("session_id") ?? "", type: query.get("type") ?? "" };
  const { data, next, offset } = await listPage(filters, query, signal);
  document.title = "Artifacts · The Vault";
  const filtered = Boolean(filters.session_id || filters.type);
  fill(
    main,
    h("h1", {}, "Artifacts"),
    filterForm(filters, filtered),
    data.length ? artifactTable(data, true) : h("p", { class: "empty" }, filtered ? "No artifact matches these filters." : "No artifacts yet."),
    pager("/ui/artifacts", filters, offset, data.length, next),
  );
}

export async function sessionArtifactsView(main, { params: [sessionId], query, signal }) {
  const [{ data: session }, page] = await Promise.all([
    getJson(`/storage/sessions/${enc(sessionId)}`, { signal }),
    listPage({ session_id: sessionId }, query, signal),
  ]);
  document.title = `${session.agent_name} · Artifacts · The Vault`;
  fill(
    main,
    sessionHeader(session, "artifacts"),
    page.data.length ? artifactTable(page.data, false) : h("p", { class: "empty" }, "This session has no artifacts."),
    pager(`/ui/sessions/${enc(sessionId)}/artifacts`, {}, page.offset, page.data.length, page.next),
  );
}

function filterForm(filters, filtered) {
  const submit = (event) => {
    event.preventDefault();
    navigate(withQuery("/ui/artifacts", Object.fromEntries(new FormData(event.target))));
  };
  const field = (name, label, placeholder) =>
    h("div", { class: "field" }, h("label", { for: `filter-${name}` }, label), h("input", { id: `filter-${name}`, name, value: filters[name], placeholder, autocomplete: "off" }));
  return h(
    "form",
    { class: "filters", action: "/ui/artifacts", method: "get", role: "search", onsubmit: submit },
    field("session_id", "Session", "any session"),
    field("type", "Type", "any type"),
    h("div", { class: "field actions" }, h("button", { type: "submit" }, "Filter"), filtered ? h("a", { href: "/ui/artifacts" }, "Clear") : null),
  );
}

function artifactTable(artifacts, withSession) {
  const columns = ["Name", "Type", "Content type", "Size", "Created", withSession ? "Session" : null].filter(Boolean);
  return h(
    "table",
    { class: "list artifacts" },
    h("thead", {}, h("tr", {}, columns.map((name) => h("th", { scope: "col" }, name)))),
    h(
      "tbody",
      {},
      artifacts.map((artifact) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "Name" }, h("a", { href: `/ui/artifacts/${enc(artifact.id)}` }, artifact.name)),
          h("td", { "data-label": "Type" }, artifact.type ?? "—"),
          h("td", { "data-label": "Content type", class: "mono small" }, artifact.content_type ?? "—"),
          h("td", { "data-label": "Size", class: "num" }, formatBytes(artifact.size)),
          h("td", { "data-label": "Created" }, timeElement(artifact.created_at)),
          withSession ? h("td", { "data-label": "Session" }, sessionLink(artifact.session_id)) : null,
        ),
      ),
    ),
  );
}

// An artifact may belong to no session.
function sessionLink(sessionId) {
  return sessionId ? h("a", { href: `/ui/sessions/${enc(sessionId)}`, class: "mono small" }, sessionId) : "no session";
}

export async function artifactView(main, { params: [artifactId], signal }) {
  const { data: artifact } = await getJson(`/storage/artifacts/${enc(artifactId)}`, { signal });
  document.title = `${artifact.name} · Artifact · The Vault`;
  const shown = h("div", { class: "preview" }, h("p", { class: "muted" }, "Loading the preview…"));
  const fact = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));
  const hasMetadata = artifact.metadata && Object.keys(artifact.metadata).length > 0;
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "/ui/artifacts" }, "Artifacts"), " / ", sessionLink(artifact.session_id)),
    h("h1", { class: "wrap" }, artifact.name),
    h(
      "dl",
      { class: "facts" },
      fact("Type", artifact.type ?? "—"),
      fact("Content type", artifact.content_type ?? "—"),
      fact("Size", formatBytes(artifact.size)),
      fact("Created", timeElement(artifact.created_at)),
      fact("sha256", h("span", { class: "mono small wrap" }, artifact.sha256 ?? "—")),
      artifact.path ? fact("Path", h("span", { class: "mono small wrap" }, artifact.path)) : null,
    ),
    artifact.sha256 ? h("p", {}, downloadLink(artifact), " ", h("span", { class: "muted small mono wrap" }, contentPath(artifact))) : null,
    h("section", { class: "card" }, h("h2", {}, "Preview"), shown),
    hasMetadata ? h("details", { class: "raw" }, h("summary", {}, "Metadata"), h("pre", { class: "json" }, prettyJson(artifact.metadata))) : null,
  );
  try {
    fill(shown, await preview(artifact, signal));
  } catch (error) {
    if (signal.aborted) return;
    fill(shown, h("p", { class: "error" }, `The preview could not be loaded: ${error.message}`));
  }
}
