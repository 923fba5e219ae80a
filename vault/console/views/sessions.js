// Sessions, newest first, filtered by agent, user and status.

import { enc, getJson, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { timeElement } from "../format.js";
import { navigate } from "../router.js";
import { offsetOf, PAGE_SIZE, pager } from "./paging.js";
import { statusBadge } from "./session_header.js";

const STATUSES = ["active", "paused", "ended"];

export async function sessionsView(main, { query, signal }) {
  const filters = {
    agent_name: query.get("agent_name") ?? "",
    user_id: query.get("user_id") ?? "",
    status: STATUSES.includes(query.get("status")) ? query.get("status") : "",
  };
  const offset = offsetOf(query);
  const path = withQuery("/storage/sessions", { ...filters, limit: PAGE_SIZE, offset: offset || null });
  const { data, next } = await getJson(path, { signal });
  document.title = "Sessions · The Vault";
  const filtered = Object.values(filters).some(Boolean);
  fill(
    main,
    h("h1", {}, "Sessions"),
    filterForm(filters, filtered),
    data.length
      ? sessionTable(data)
      : h("p", { class: "empty" }, filtered ? "No session matches these filters." : "No sessions yet."),
    pager("/ui/sessions", filters, offset, data.length, next),
  );
}

function filterForm(filters, filtered) {
  const field = (name, label, placeholder) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: `filter-${name}` }, label),
      h("input", { id: `filter-${name}`, name, value: filters[name], placeholder, autocomplete: "off" }),
    );
  const status = h(
    "select",
    { id: "filter-status", name: "status" },
    h("option", { value: "" }, "any"),
    STATUSES.map((value) => h("option", { value, selected: value === filters.status }, value)),
  );
  const submit = (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(event.target));
    navigate(withQuery("/ui/sessions", values));
  };
  return h(
    "form",
    { class: "filters", action: "/ui/sessions", method: "get", role: "search", onsubmit: submit },
    field("agent_name", "Agent", "any agent"),
    field("user_id", "User", "any user"),
    h("div", { class: "field" }, h("label", { for: "filter-status" }, "Status"), status),
    h("div", { class: "field actions" }, h("button", { type: "submit" }, "Filter"), filtered ? h("a", { href: "/ui/sessions" }, "Clear") : null),
  );
}

function sessionTable(sessions) {
  return h(
    "table",
    { class: "list sessions" },
    h("thead", {}, h("tr", {}, ["Agent", "User", "Status", "Messages", "Updated"].map((name) => h("th", { scope: "col" }, name)))),
    h(
      "tbody",
      {},
      sessions.map((session) =>
        h(
          "tr",
          {},
          h(
            "td",
            { "data-label": "Agent" },
            h("a", { href: `/ui/sessions/${enc(session.id)}` }, session.agent_name),
            h("div", { class: "mono small muted" }, session.id),
          ),
          h("td", { "data-label": "User" }, session.user_id ?? "—"),
          h("td", { "data-label": "Status" }, statusBadge(session.status)),
          h("td", { "data-label": "Messages", class: "num" }, String(session.message_count ?? "")),
          h("td", { "data-label": "Updated" }, timeElement(session.updated_at)),
        ),
      ),
    ),
  );
}
