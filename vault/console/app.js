// The console's entry point: the views by address, and what a failed view shows.

import { ApiProblem, forgetKey, KeyNeeded, KeyNotAllowed, rememberKey, storedKey } from "./api.js";
import { fill, h } from "./dom.js";
import { redraw, start } from "./router.js";
import { artifactsView, artifactView, sessionArtifactsView } from "./views/artifacts.js";
import { conversationView } from "./views/conversation.js";
import { keyForm, notAllowed } from "./views/key.js";
import { metricsView, metricView } from "./views/metrics.js";
import { operationsView } from "./views/operations.js";
import { sessionsView } from "./views/sessions.js";
import { stateView } from "./views/state.js";

const ROUTES = [
  [/^\/ui\/?$/, sessionsView],
  [/^\/ui\/sessions\/?$/, sessionsView],
  [/^\/ui\/sessions\/([^/]+)\/?$/, conversationView],
  [/^\/ui\/sessions\/([^/]+)\/state\/?$/, stateView],
  [/^\/ui\/sessions\/([^/]+)\/artifacts\/?$/, sessionArtifactsView],
  [/^\/ui\/artifacts\/?$/, artifactsView],
  [/^\/ui\/artifacts\/([^/]+)\/?$/, artifactView],
  [/^\/ui\/metrics\/?$/, metricsView],
  [/^\/ui\/metrics\/([^/]+)\/?$/, metricView],
  [/^\/ui\/operations\/?$/, operationsView],
];

function showProblem(main, error) {
  if (error instanceof KeyNeeded) {
    // A key the service refused is dropped, so the header stops saying one is set.
    if (error.rejected) forgetKey();
    document.title = "API key needed · The Vault";
    fill(main, keyForm(error.rejected, useKey));
    showKeyStatus();
    return;
  }
  if (error instanceof KeyNotAllowed) {
    fill(main, notAllowed());
    return;
  }
  const heading = error instanceof ApiProblem && error.status === 404 ? "Not found" : "Something went wrong";
  const detail = error instanceof ApiProblem ? `${error.status}: ${error.message}` : String(error?.message ?? error);
  document.title = `${heading} · The Vault`;
  fill(
    main,
    h("h1", {}, heading),
    h("p", { class: "error", role: "alert" }, detail),
    h("p", {}, h("a", { href: "/ui/sessions" }, "Back to the sessions")),
  );
}

function useKey(key) {
  rememberKey(key);
  redraw();
}

function showKeyStatus() {
  const status = document.getElementById("key-status");
  if (!storedKey()) {
    fill(status);
    return;
  }
  const forget = () => {
    forgetKey();
    redraw();
  };
  fill(status, h("span", { class: "muted" }, "Key set"), " ", h("button", { type: "button", class: "link", onclick: forget }, "Forget key"));
}

function markCurrentView(pathname) {
  for (const link of document.querySelectorAll("nav.views a")) {
    const section = new URL(link.href).pathname;
    const here = pathname === section || pathname.startsWith(section + "/") || (pathname.replace(/\/$/, "") === "/ui" && section === "/ui/sessions");
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  showKeyStatus();
}

start(ROUTES, showProblem, markCurrentView);
