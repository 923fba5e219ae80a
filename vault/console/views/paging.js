// Paging a list: the API's `Link: rel="next"` names the next page; the console
// carries its offset in its own address, so each page can be opened directly.

import { queryField, withQuery } from "../api.js";
import { h } from "../dom.js";

export const PAGE_SIZE = 25;

export function offsetOf(query) {
  const offset = Number.parseInt(query.get("offset") ?? "0", 10);
  return Number.isFinite(offset) && offset > 0 ? offset : 0;
}

/** "Newer" and "Older" links for a list shown newest first. */
export function pager(consolePath, filters, offset, shown, next) {
  const newer = offset > 0 ? withQuery(consolePath, { ...filters, offset: Math.max(0, offset - PAGE_SIZE) || null }) : null;
  const older = next ? withQuery(consolePath, { ...filters, offset: queryField(next, "offset") }) : null;
  if (!newer && !older) return null;
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    newer ? h("a", { href: newer, rel: "prev" }, "← Newer") : h("span"),
    h("span", { class: "muted" }, shown ? `${offset + 1}–${offset + shown}` : ""),
    older ? h("a", { href: older, rel: "next" }, "Older →") : h("span"),
  );
}
