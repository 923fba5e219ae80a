// A JSON value as a tree of <details>: objects and arrays fold, leaves show
// their value typed by colour. Keys and strings are text, whatever they hold.

import { h } from "./dom.js";

const OPEN_DEPTH = 2;

export function jsonTree(value) {
  return h("div", { class: "json-tree" }, node(null, value, 0));
}

function node(key, value, depth) {
  const label = key === null ? null : h("span", { class: "key" }, key);
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
    const summary = Array.isArray(value) ? `[${entries.length} item${entries.length === 1 ? "" : "s"}]` : `{${entries.length} key${entries.length === 1 ? "" : "s"}}`;
    if (entries.length === 0) return h("div", { class: "leaf" }, label, label ? ": " : null, h("span", { class: "muted" }, Array.isArray(value) ? "[]" : "{}"));
    return h(
      "details",
      { open: depth < OPEN_DEPTH },
      h("summary", {}, label, label ? " " : null, h("span", { class: "muted" }, summary)),
      h("div", { class: "children" }, entries.map(([name, item]) => node(name, item, depth + 1))),
    );
  }
  return h("div", { class: "leaf" }, label, label ? ": " : null, leaf(value));
}

function leaf(value) {
  if (typeof value === "string") return h("span", { class: "v-string" }, JSON.stringify(value));
  if (typeof value === "number") return h("span", { class: "v-number" }, String(value));
  if (typeof value === "boolean") return h("span", { class: "v-boolean" }, String(value));
  return h("span", { class: "v-null" }, "null");
}
