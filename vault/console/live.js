// Live updates of a conversation through the change feed (CONTRACT.md section
// 14: GET /storage/events, here its JSON long-poll form, which can carry the
// Bearer key as EventSource cannot). Followed only where the service describes
// that route in /openapi.json; where it does not, the view is simply not live.

import { call, serviceHas, withQuery } from "./api.js";

const WAIT_SECONDS = 25;

/** Call `onMessage(message)` for each message appended to the session, until `signal` aborts. */
export async function followMessages(sessionId, { signal, onMessage, onLive }) {
  if (!(await serviceHas("/storage/events"))) return;
  // The first request answers at once with where the feed stands (Vault-Event-Cursor); each
  // later one starts there, so no message is missed between two requests.
  let after = "now";
  let wait = 0;
  let failures = 0;
  while (!signal.aborted) {
    const path = withQuery("/storage/events", { session_id: sessionId, types: "message.created", after, wait });
    let events;
    let response;
    try {
      response = await call(path, { signal, acceptStatus: [404, 410] });
      if (response.status === 404) return; // the session is gone
      if (response.status === 410) {
        after = "now"; // fell behind what the feed keeps: carry on from here
        wait = 0;
        continue;
      }
      events = await response.json();
    } catch {
      if (signal.aborted) return;
      failures += 1;
      await pause(Math.min(30, 2 ** failures) * 1000, signal);
      continue;
    }
    failures = 0;
    if (wait === 0) onLive();
    for (const event of events) {
      if (event.type === "message.created" && event.data) onMessage(event.data);
    }
    after = response.headers.get("Vault-Event-Cursor") || (events.length ? events[events.length - 1].id : after);
    wait = WAIT_SECONDS;
  }
}

function pause(milliseconds, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, milliseconds);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
