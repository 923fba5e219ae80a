// One message of a conversation: its role, its text, the tools it called and
// what a tool answered. Everything stored is shown as text.

import { h } from "../dom.js";
import { prettyJson, timeElement } from "../format.js";

const ROLES = new Set(["user", "assistant", "system", "tool"]);
// Past this, a block is folded to a few lines with a button to show it all.
const FOLD_CHARACTERS = 1200;
const FOLD_LINES = 16;

export function messageItem(message) {
  const role = ROLES.has(message.role) ? message.role : "other";
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  return h(
    "li",
    { class: `msg msg-${role}`, "data-seq": message.seq },
    h(
      "div",
      { class: "msg-head" },
      h("span", { class: "role" }, message.role),
      message.name ? h("span", { class: "name" }, message.name) : null,
      h("span", { class: "seq muted" }, `#${message.seq}`),
      timeElement(message.timestamp),
    ),
    message.tool_call_id ? h("p", { class: "tool-for" }, "Result of ", h("code", {}, message.tool_call_id)) : null,
    content(message.content, role),
    calls.map(toolCall),
    metadata(message.metadata),
  );
}

function content(value, role) {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") {
    // A tool's answer is often JSON: shown indented.
    if (role === "tool" && looksLikeJson(value)) return foldable(h("pre", { class: "json" }, prettyJson(value)));
    return foldable(h("div", { class: "text" }, value));
  }
  if (Array.isArray(value)) return value.map(part);
  return foldable(h("pre", { class: "json" }, prettyJson(value)));
}

function part(value) {
  if (value && value.type === "text" && typeof value.text === "string") return foldable(h("div", { class: "text" }, value.text));
  return h("div", { class: "part" }, h("div", { class: "part-type muted" }, String(value?.type ?? "part")), foldable(h("pre", { class: "json" }, prettyJson(value))));
}

function looksLikeJson(text) {
  const start = text.trimStart()[0];
  if (start !== "{" && start !== "[") return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A tool call in any of the common shapes: {function: {name, arguments}}, {name, args}, {name, input}. */
function toolCall(call) {
  const target = call && typeof call.function === "object" && call.function !== null ? call.function : call;
  const name = typeof target?.name === "string" ? target.name : "(unnamed tool)";
  const argumentsValue = target?.arguments ?? target?.args ?? target?.input ?? target?.parameters;
  return h(
    "div",
    { class: "tool-call" },
    h(
      "div",
      { class: "tool-head" },
      h("span", { class: "muted" }, "Calls "),
      h("code", { class: "tool-name" }, name),
      typeof call?.id === "string" ? h("span", { class: "call-id muted" }, call.id) : null,
    ),
    foldable(h("pre", { class: "json" }, prettyJson(argumentsValue === undefined ? call : argumentsValue))),
  );
}

function metadata(value) {
  if (!value || typeof value !== "object" || Object.keys(value).length === 0) return null;
  return h("details", { class: "meta" }, h("summary", {}, "metadata"), h("pre", { class: "json" }, prettyJson(value)));
}

/** The block as it is, or folded with a button that unfolds it when it is long. */
function foldable(block) {
  const text = block.textContent;
  const lines = text.split("\n").length;
  if (text.length <= FOLD_CHARACTERS && lines <= FOLD_LINES) return block;
  const holder = h("div", { class: "fold folded" }, block);
  const label = `Show all (${lines} lines, ${text.length.toLocaleString()} characters)`;
  const button = h("button", { type: "button", class: "unfold", "aria-expanded": "false" }, label);
  button.addEventListener("click", () => {
    const folded = holder.classList.toggle("folded");
    button.setAttribute("aria-expanded", String(!folded));
    button.textContent = folded ? label : "Show less";
  });
  return [holder, button];
}
