"""bench/api.py's wrk runs: figures come from the Lua ``done`` hook's JSON line, so runs with
failed requests (refused connections, error statuses) are reported, not fatal."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from bench.api import page_query_plan, parse_wrk, wrk
from devtools.process import LOOPBACK, free_port
from devtools.testkit.http_stub import serving


class _Unavailable(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads counts, not logs."""


class _Dropping(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        """Read the request and hang up without an answer."""
        self.close_connection = True


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    with serving(handler) as url:
        yield f"{url}/tasks"


@pytest.fixture
def unavailable_server() -> Iterator[str]:
    yield from _serve(_Unavailable)


@pytest.fixture
def dropping_server() -> Iterator[str]:
    yield from _serve(_Dropping)


def test_every_error_status_is_counted(unavailable_server: str, tmp_path: Path) -> None:
    result = wrk(
        unavailable_server, "GET", None, "Bearer x", seconds=1, concurrency=2, workdir=tmp_path
    )

    assert result.requests > 0
    assert result.non_2xx == result.requests
    assert result.socket_errors == 0
    assert result.timeouts == 0


def test_connections_dropped_mid_run_are_figures_not_a_crash(
    dropping_server: str, tmp_path: Path
) -> None:
    result = wrk(
        dropping_server, "GET", None, "Bearer x", seconds=1, concurrency=2, workdir=tmp_path
    )

    assert result.requests == 0
    assert result.socket_errors > 0
    assert result.rate == 0.0


def test_a_server_that_is_not_there_is_an_error_naming_it(tmp_path: Path) -> None:
    closed = f"http://{LOOPBACK}:{free_port()}/tasks"

    with pytest.raises(RuntimeError, match="unable to connect"):
        wrk(closed, "GET", None, "Bearer x", seconds=1, concurrency=2, workdir=tmp_path)


def test_output_without_the_json_line_names_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match="no WRK_JSON line"):
        parse_wrk("Running 1s test @ http://127.0.0.1:1/\n")


def test_the_json_line_gives_exact_figures() -> None:
    output = (
        "Running 2s test\n"
        'WRK_JSON {"requests": 400, "duration_us": 2000000, "p50_us": 1500, "p99_us": 9000, '
        '"connect": 1, "read": 2, "write": 3, "status": 4, "timeout": 5}\n'
    )

    result = parse_wrk(output)

    assert (result.requests, result.rate, result.p50_ms, result.p99_ms) == (400, 200.0, 1.5, 9.0)
    assert (result.socket_errors, result.non_2xx, result.timeouts) == (6, 4, 5)


def test_the_page_query_plan_is_read_from_auto_explains_log() -> None:
    log = (
        "2026-12-03 16:49:45.925 UTC [1] postgres@db LOG:  duration: 0.05 ms  plan:\n"
        "\tQuery Text: SELECT users.id FROM users WHERE users.id = $1\n"
        "\tIndex Scan using users_pkey on users  (cost=0.1..8.1 rows=1 width=16)\n"
        "2026-12-03 16:49:45.926 UTC [1] postgres@db LOG:  duration: 0.08 ms  plan:\n"
        "\tQuery Text: SELECT tasks.id \n\tFROM tasks \n\tWHERE tasks.owner_id = $1 LIMIT $2\n"
        "\tLimit  (cost=0.39..7.57 rows=51 width=166)\n"
        "\t  ->  Incremental Sort  (cost=0.39..1408.04 rows=10000 width=166)\n"
        "\t        Sort Key: created_at, id\n"
        "\t        ->  Index Scan using ix_tasks_owner_created on tasks  (cost=0.29..958 rows=1)\n"
        "\t              Index Cond: (owner_id = 'f'::uuid)\n"
        # The page's reminders, which select the page's ids again: not the page query.
        "2026-12-03 16:49:45.927 UTC [1] postgres@db LOG:  duration: 0.09 ms  plan:\n"
        "\tQuery Text: SELECT reminders.task_id FROM reminders WHERE reminders.task_id IN"
        " (SELECT tasks.id FROM tasks WHERE tasks.owner_id = $1 LIMIT $2)\n"
        "\tSort  (cost=8.1..8.2 rows=2 width=60)\n"
        "\t  ->  Hash Semi Join  (cost=7.6..8.1 rows=2 width=60)\n"
    )

    assert page_query_plan(log) == (
        "Limit > Incremental Sort > Index Scan using ix_tasks_owner_created on tasks"
    )
    assert page_query_plan(log.split("2026-12-03 16:49:45.926")[0]) == "no plan logged"
