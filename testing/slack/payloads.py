"""Slack request bodies built from the fixtures in `payloads/`, and Slack's request signing.

Each builder loads a fixture (a real shape from Slack's docs or bolt-python's tests, see
payloads/README.md) and replaces only the identities a test needs. `signed_headers` signs a
raw body as Slack does (v0 HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret).
"""

from __future__ import annotations

import copy
import json
import time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from slack_sdk.signature import SignatureVerifier

from bot.platforms.slack.blocks import CHOICE_ACTION_PREFIX

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "test-signing-secret"


@cache
def _fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((PAYLOADS / f"{name}.json").read_text()))


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(_fixture(name))


def _envelope(name: str, team: str, event_id: str) -> dict[str, Any]:
    body = fixture(name)
    body.update(team_id=team, event_id=event_id)
    for authorization in body.get("authorizations", []):
        authorization["team_id"] = team
    return body


def thread_reply(
    team: str, channel: str, user: str, thread_ts: str, ts: str, text: str, event_id: str
) -> dict[str, Any]:
    body = _envelope("event_message_thread_reply", team, event_id)
    body["event"].update(
        user=user, team=team, channel=channel, thread_ts=thread_ts, ts=ts, event_ts=ts, text=text
    )
    return body


def channel_message(
    team: str,
    channel: str,
    user: str,
    ts: str,
    text: str,
    event_id: str,
    channel_type: str = "channel",
) -> dict[str, Any]:
    body = thread_reply(team, channel, user, ts, ts, text, event_id)
    del body["event"]["thread_ts"], body["event"]["parent_user_id"]
    body["event"]["channel_type"] = channel_type
    return body


def message_changed(
    team: str,
    channel: str,
    user: str,
    thread_ts: str,
    ts: str,
    edit_ts: str,
    text: str,
    event_id: str,
) -> dict[str, Any]:
    body = _envelope("event_message_changed", team, event_id)
    event = body["event"]
    event["channel"] = channel
    event["message"].update(
        user=user,
        team=team,
        text=text,
        ts=ts,
        thread_ts=thread_ts,
        edited={"user": user, "ts": edit_ts},
    )
    event["previous_message"].update(user=user, ts=ts, thread_ts=thread_ts)
    return body


def simple_event(name: str, team: str, event_id: str, **event: Any) -> dict[str, Any]:
    body = _envelope(name, team, event_id)
    body["event"].update(event)
    return body


def command(
    team: str, channel: str, user: str, text: str, response_url: str, trigger_id: str
) -> dict[str, Any]:
    fields = fixture("command_drill")
    fields.update(
        team_id=team,
        channel_id=channel,
        user_id=user,
        text=text,
        response_url=response_url,
        trigger_id=trigger_id,
    )
    fields.pop("enterprise_id")
    fields.pop("enterprise_name")
    return fields


def block_action(
    team: str, channel: str, user: str, message_ts: str, action_id: str, value: str, trigger_id: str
) -> dict[str, Any]:
    body = fixture("block_actions")
    body["user"].update(id=user, team_id=team)
    body["team"]["id"] = team
    body["container"].update(channel_id=channel, message_ts=message_ts)
    body["channel"]["id"] = channel
    body["trigger_id"] = trigger_id
    body["actions"][0].update(action_id=action_id, value=value)
    return body


def choice_click(
    team: str, channel: str, user: str, message_ts: str, daily_id: int, letter: str,
    trigger_id: str,
) -> dict[str, Any]:
    """A click on an MCQ daily's choice button (the action id and value the post gives it)."""
    return block_action(team, channel, user, message_ts, f"{CHOICE_ACTION_PREFIX}{letter}",
                        f"{daily_id}:{letter}", trigger_id)


def view_submission(
    team: str, user: str, view: dict[str, Any], text: str, view_id: str
) -> dict[str, Any]:
    """A submission of the modal `view` (as opened through views.open) with `text` typed."""
    body = fixture("view_submission")
    body["team"]["id"] = team
    body["user"].update(id=user, team_id=team)
    submitted = body["view"]
    submitted.update(
        id=view_id,
        team_id=team,
        callback_id=view["callback_id"],
        blocks=view["blocks"],
        private_metadata=view["private_metadata"],
        app_installed_team_id=team,
    )
    input_block = view["blocks"][-1]
    submitted["state"] = {
        "values": {
            input_block["block_id"]: {
                input_block["element"]["action_id"]: {"type": "plain_text_input", "value": text}
            }
        }
    }
    return body


# -- encoding and signing ---------------------------------------------------------------------


def json_body(body: dict[str, Any]) -> tuple[str, str]:
    return json.dumps(body), "application/json"


def form_body(fields: dict[str, Any]) -> tuple[str, str]:
    return urlencode(fields), "application/x-www-form-urlencoded"


def interaction_body(payload: dict[str, Any]) -> tuple[str, str]:
    return f"payload={quote(json.dumps(payload))}", "application/x-www-form-urlencoded"


def signed_headers(
    body: str, content_type: str, secret: str = SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
