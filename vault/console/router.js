// Client-side routing: every view has a real address under /ui (the server
// answers the same page for all of them), links stay real links, and the
// browser's back and forward buttons work.

import { fill, h } from "./dom.js";

let routes = [];
let problemView = null;
let current = null;
let afterRender = () => {};

/** Start routing: `table` is a list of [pattern, view]; `onProblem(error, retry)` draws a failed view. */
export function start(table, onProblem, onRendered) {
  routes = table;
  problemView = onProblem;
  afterRender = onRendered;
  document.addEventListener("click", followLink);
  window.addEventListener("popstate", () => render(false));
  render(false);
}

/** Go to a console address, as following a link would. */
export function navigate(url, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"](null, "", url);
  render(true);
}

/** Draw the current address again (after a key was given, say). */
export function redraw() {
  render(false);
}

function followLink(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  const console = url.pathname === "/ui" || url.pathname.startsWith("/ui/");
  if (url.origin !== location.origin || !console || url.pathname.startsWith("/ui/assets/")) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

function match(pathname) {
  for (const [pattern, view] of routes) {
    const found = pathname.match(pattern);
    if (found) return [view, found.slice(1).map(decodeSegment)];
  }
  return [null, []];
}

function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

async function render(moveFocus) {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const main = document.getElementById("main");
  const [view, params] = match(location.pathname);
  const context = { params, query: new URLSearchParams(location.search), signal: controller.signal };
  main.setAttribute("aria-busy", "true");
  try {
    if (view === null) {
      document.title = "Not found · The Vault";
      fill(main, h("h1", {}, "Not found"), h("p", {}, "The console has no view at this address. ", h("a", { href: "/ui/sessions" }, "See the sessions.")));
    } else {
      await view(main, context);
    }
  } catch (error) {
    if (controller.signal.aborted) return;
    if (error?.name !== "AbortError") problemView(main, error);
  } finally {
    if (!controller.signal.aborted) {
      main.removeAttribute("aria-busy");
      afterRender(location.pathname);
      // After a click on a link, keyboard and screen reader users land on the new view.
      if (moveFocus) main.focus({ preventScroll: true });
    }
  }
}
