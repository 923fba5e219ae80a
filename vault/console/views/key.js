// Asking for the API key, and saying when a key may not see a view.

import { h } from "../dom.js";

/** The form that asks for a key; `rejected`: the key in use was refused. */
export function keyForm(rejected, onKey) {
  const input = h("input", {
    type: "password",
    id: "api-key",
    name: "key",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const submit = (event) => {
    event.preventDefault();
    if (input.value.trim()) onKey(input.value.trim());
  };
  const form = h(
    "form",
    { class: "card key-form", onsubmit: submit },
    h("h1", {}, "API key needed"),
    h(
      "p",
      {},
      "This Vault needs an API key (one of VAULT_API_KEYS) for every call. ",
      "The console keeps it in this tab only (sessionStorage) and sends it as ",
      h("code", {}, "Authorization: Bearer"),
      ".",
    ),
    rejected ? h("p", { class: "error", role: "alert" }, "That key was not accepted. Check it and try again.") : null,
    h("label", { for: "api-key" }, "API key"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Use this key")),
  );
  queueMicrotask(() => input.focus());
  return form;
}

/** 403 on an administration route: the key is valid but not an administration key. */
export function notAllowed() {
  return h(
    "div",
    { class: "notice", role: "status" },
    h("strong", {}, "Not allowed with this key. "),
    "The administration routes need a key listed in VAULT_ADMIN_API_KEYS.",
  );
}
