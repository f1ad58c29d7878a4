"""A Slack client for tests: records what the outbox posts (``api_call`` like slack_sdk's WebClient)."""

from __future__ import annotations

from typing import Any


class FakeSlack:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    def api_call(self, method: str, json: dict[str, Any]) -> dict[str, Any]:  # noqa: A002 - slack_sdk name
        if method == "chat.postMessage":
            self.posts.append(json)
        return {"ok": True, "channel": "C1", "ts": f"1.{len(self.posts)}"}

    def texts(self) -> list[str]:
        """The first section's text of every post, oldest first."""
        return [p["blocks"][0]["text"]["text"] for p in self.posts]

    def titles(self) -> list[str]:
        """The plain ``text`` (title line) of every post, oldest first."""
        return [p["text"] for p in self.posts]

    def section_text(self) -> str:
        """Every section's text of every post, joined."""
        return "\n".join(b.get("text", {}).get("text", "") for p in self.posts for b in p["blocks"]
                         if b.get("type") == "section")
