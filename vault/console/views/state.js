// A session's state: its JSON tree, its version and the ETag a writer would send in If-Match.

import { enc, getJson } from "../api.js";
import { fill, h } from "../dom.js";
import { timeElement } from "../format.js";
import { jsonTree } from "../json_tree.js";
import { sessionHeader } from "./session_header.js";

export async function stateView(main, { params: [sessionId], signal }) {
  const [{ data: session }, state] = await Promise.all([
    getJson(`/storage/sessions/${enc(sessionId)}`, { signal }),
    getJson(`/storage/state/${enc(sessionId)}`, { signal }),
  ]);
  document.title = `${session.agent_name} · State · The Vault`;
  const { data, version, updated_at: updated } = state.data;
  const empty = Object.keys(data ?? {}).length === 0;
  fill(
    main,
    sessionHeader(session, "state"),
    h(
      "dl",
      { class: "facts" },
      h("div", {}, h("dt", {}, "Version"), h("dd", {}, String(version))),
      h("div", {}, h("dt", {}, "ETag"), h("dd", { class: "mono" }, state.headers.get("ETag") ?? "—")),
      h("div", {}, h("dt", {}, "Updated"), h("dd", {}, timeElement(updated))),
    ),
    empty
      ? h("p", { class: "empty" }, version === 0 ? "This session has no state yet." : "The state is empty.")
      : h("section", { class: "card" }, h("h2", {}, "Data"), jsonTree(data)),
    empty ? null : h("details", { class: "raw" }, h("summary", {}, "Raw JSON"), h("pre", { class: "json" }, JSON.stringify(data, null, 2))),
  );
}
