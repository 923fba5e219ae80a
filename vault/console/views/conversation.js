// A conversation as a chat: the newest messages first in view, older ones
// loaded as the reader scrolls up (or presses the button), new ones appended
// live where the service has a change feed.

import { enc, getJson, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { followMessages } from "../live.js";
import { messageItem } from "./message.js";
import { sessionHeader } from "./session_header.js";

const PAGE = 30;

export async function conversationView(main, { params: [sessionId], signal }) {
  const [{ data: session }, first] = await Promise.all([
    getJson(`/storage/sessions/${enc(sessionId)}`, { signal }),
    getJson(withQuery("/storage/history", { session_id: sessionId, limit: PAGE }), { signal }),
  ]);
  document.title = `${session.agent_name} · Conversation · The Vault`;
  const list = h("ol", { class: "chat", "aria-label": "Messages, oldest first" }, first.data.map(messageItem));
  const older = h("div", { class: "older" });
  // Laid out from the start and shown once the feed answers, so the page never moves when it does.
  const live = h("p", { class: "live muted waiting" }, "Live: new messages appear as they are stored.");
  fill(main, sessionHeader(session, "conversation"), older, list, live);

  let nextUrl = first.next;
  let lastSeq = first.data.at(-1)?.seq ?? 0;
  let loading = false;
  const button = h("button", { type: "button", onclick: () => loadOlder() }, "Load older messages");

  const showOlderControl = () => {
    if (nextUrl) fill(older, button);
    else fill(older, h("p", { class: "muted" }, list.children.length ? "The start of the conversation." : "No messages yet."));
  };

  async function loadOlder() {
    if (loading || !nextUrl || signal.aborted) return;
    loading = true;
    button.disabled = true;
    try {
      const page = await getJson(nextUrl, { signal });
      // Keep the message the reader is looking at where it is as older ones go in above it.
      const scroller = document.scrollingElement;
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      list.prepend(...page.data.map(messageItem));
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
      nextUrl = page.next;
      showOlderControl();
    } catch (error) {
      if (!signal.aborted) fill(older, h("p", { class: "error", role: "alert" }, `Older messages could not be loaded: ${error.message}`), button);
    } finally {
      loading = false;
      button.disabled = false;
    }
  }

  showOlderControl();
  // The conversation opens at its newest message, at the bottom.
  document.documentElement.classList.add("chat-page");
  document.scrollingElement.scrollTop = document.scrollingElement.scrollHeight;
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadOlder();
  }, { rootMargin: "300px 0px 0px 0px" });
  observer.observe(older);
  signal.addEventListener("abort", () => {
    observer.disconnect();
    document.documentElement.classList.remove("chat-page");
  });

  followMessages(sessionId, {
    signal,
    onLive: () => live.classList.remove("waiting"),
    onMessage: (message) => {
      if (message.seq <= lastSeq) return;
      lastSeq = message.seq;
      const scroller = document.scrollingElement;
      const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
      list.append(messageItem(message));
      if (atBottom) scroller.scrollTop = scroller.scrollHeight;
    },
  });
}
