"""A LangGraph graph of two nodes and an interrupt, checkpointed in The Vault.

Run as a program, it starts a thread and stops at the interrupt, then exits:
`python -m tests.integrations.graph_app <vault url> <thread id> <topic>`.
"""

from __future__ import annotations

import sys
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class Review(TypedDict, total=False):
    topic: str
    draft: str
    verdict: str
    final: str


def write(state: Review) -> Review:
    return {"draft": f"a draft about {state['topic']}"}


def review(state: Review) -> Review:
    # The first run stops here; the value given on resume is what interrupt() returns.
    verdict = interrupt({"please_review": state["draft"]})
    return {"verdict": verdict, "final": f"{state['draft']} ({verdict})"}


def build(checkpointer):
    builder = StateGraph(Review)
    builder.add_node("write", write)
    builder.add_node("review", review)
    builder.add_edge(START, "write")
    builder.add_edge("write", "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=checkpointer)


def main(url: str, thread_id: str, topic: str) -> None:
    from vault.integrations.langgraph import VaultSaver

    with VaultSaver(url) as saver:
        result = build(saver).invoke({"topic": topic}, {"configurable": {"thread_id": thread_id}})
    # What the interrupt asked, for the test to see the run stopped there.
    print(result["__interrupt__"][0].value["please_review"])


if __name__ == "__main__":
    main(*sys.argv[1:4])
