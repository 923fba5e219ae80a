// The heading every view of one session shares: who, which agent, and tabs.

import { enc } from "../api.js";
import { h } from "../dom.js";
import { timeElement } from "../format.js";
import { jsonTree } from "../json_tree.js";

const TABS = [
  ["conversation", "Conversation", ""],
  ["state", "State", "/state"],
  ["artifacts", "Artifacts", "/artifacts"],
];

export function statusBadge(status) {
  const known = ["active", "paused", "ended"].includes(status) ? status : "other";
  return h("span", { class: `badge status-${known}` }, status);
}

export function sessionHeader(session, active) {
  const base = `/ui/sessions/${enc(session.id)}`;
  return h(
    "header",
    { class: "session-head" },
    h("p", { class: "crumbs" }, h("a", { href: "/ui/sessions" }, "Sessions"), " / ", h("span", { class: "mono" }, session.id)),
    h("h1", {}, session.agent_name, " ", statusBadge(session.status)),
    h(
      "dl",
      { class: "facts" },
      h("div", {}, h("dt", {}, "User"), h("dd", {}, session.user_id ?? "—")),
      h("div", {}, h("dt", {}, "Messages"), h("dd", {}, String(session.message_count ?? "—"))),
      h("div", {}, h("dt", {}, "Created"), h("dd", {}, timeElement(session.created_at))),
      h("div", {}, h("dt", {}, "Updated"), h("dd", {}, timeElement(session.updated_at))),
    ),
    Object.keys(session.metadata ?? {}).length
      ? h("details", { class: "raw session-meta" }, h("summary", {}, "Metadata"), jsonTree(session.metadata))
      : null,
    h(
      "nav",
      { class: "tabs", "aria-label": "Session views" },
      TABS.map(([name, label, suffix]) =>
        h("a", { href: base + suffix, "aria-current": name === active ? "page" : null }, label),
      ),
    ),
  );
}
