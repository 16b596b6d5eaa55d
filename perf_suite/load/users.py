"""The locust user of every HTTP scenario: a weighted mix of requests described by data.

A mix entry is ``{"name", "weight", "paths": [...], "cursor": bool, "expect": 200}``: each task
picks an entry by weight and one of its paths at random. With ``cursor`` the user follows the
response's ``next_cursor`` (``?cursor=``) on its next visit of that entry, up to ``max_pages``
pages, then starts again from the first page. Redirects are not followed: a logged-in console
page or an authorised API call answers 200, anything else is a failure.

Each user belongs to a ``kind`` ("scenario" or "ceiling"); only the users of the active kind
send requests (the others idle), so the runner can alternate the scenario and its ceiling in
slices with the same number of users, both seeing the same background load.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, ClassVar
from urllib.parse import quote

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, between, constant, task

ACTIVE: dict[str, str | None] = {"kind": None}
IN_FLIGHT: dict[str, int] = {"scenario": 0, "ceiling": 0}


class MixUser(FastHttpUser):
    abstract = True
    kind: ClassVar[str] = "scenario"
    params: ClassVar[dict[str, Any]] = {}
    _seq: ClassVar[itertools.count[int]] = itertools.count()
    wait_time = constant(0)

    def on_start(self) -> None:
        p = self.params
        number = next(type(self)._seq)
        self.rng = random.Random(number)
        self.headers: dict[str, str] = dict(p.get("headers", {}))
        cookies: list[str] = p.get("cookies") or []
        if cookies:  # a pre-opened console session per user (logins are measured separately)
            self.headers["Cookie"] = cookies[number % len(cookies)]
        self.mix: list[dict[str, Any]] = p["mix"]
        self.weights = [float(m.get("weight", 1)) for m in self.mix]
        self.max_pages = int(p.get("max_pages", 5))
        self.cursors: dict[str, tuple[str, int]] = {}

    @task
    def step(self) -> None:
        if ACTIVE["kind"] != self.kind:
            gevent.sleep(0.02)
            return
        entry = self.rng.choices(self.mix, weights=self.weights)[0]
        key = entry["name"]
        name = key
        path = self.rng.choice(entry["paths"])
        state = self.cursors.get(key) if entry.get("cursor") else None
        if state:
            path = f"{path}{'&' if '?' in path else '?'}cursor={quote(state[0])}"
            name = f"{key} (next page)"
        IN_FLIGHT[self.kind] += 1
        try:
            self._get(entry, key, name, path, state)
        finally:
            IN_FLIGHT[self.kind] -= 1

    def _get(
        self, entry: dict[str, Any], key: str, name: str, path: str, state: tuple[str, int] | None
    ) -> None:
        with self.client.get(
            path,
            name=name,
            headers=self.headers,
            allow_redirects=False,
            catch_response=True,
            context={"kind": self.kind},
        ) as resp:
            expect = int(entry.get("expect", 200))
            if resp.status_code != expect:
                resp.failure(f"HTTP {resp.status_code} (expected {expect})")
                self.cursors.pop(key, None)
                return
            if not entry.get("cursor"):
                return
            try:
                body = resp.json()
                nxt = body.get("next_cursor") if isinstance(body, dict) else None
            except ValueError:
                resp.failure("response is not JSON")
                nxt = None
            page = state[1] + 1 if state else 1
            if nxt and page < self.max_pages:
                self.cursors[key] = (str(nxt), page)
            else:
                self.cursors.pop(key, None)


def user_class(label: str, kind: str, host: str, params: dict[str, Any]) -> type[MixUser]:
    think = float(params.get("think_time", 0) or 0)
    wait = between(think * 0.5, think * 1.5) if think > 0 else constant(0)
    return type(
        f"{label.title().replace('_', '')}{kind.title()}User",
        (MixUser,),
        {
            "abstract": False,
            "kind": kind,
            "host": host,
            "params": params,
            "wait_time": wait,
            "_seq": itertools.count(),
        },
    )
