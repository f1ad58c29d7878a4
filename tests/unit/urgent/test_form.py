"""The urgent re-run's trigger form (``aeops.urgent.form``): its names are a contract, its defaults are valid (a
Param without a valid default breaks the DAG's failure callback), and what a person fills in is what the run's
first task accepts."""

from __future__ import annotations

import pytest
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError

from aeops.urgent import form
from aeops.urgent.request import RequestError, parse_request

FIELDS = ["store", "mode", "reason", "deadline_minutes", "dry_run", "run_id", "skus", "price_file", "percent",
          "scope", "category", "floor_price", "hold_until", "start_at", "end_at",
          "ceiling_price"]  # docs/urgent.md, the REST conf


def test_the_form_shows_every_documented_field_in_order_each_with_a_title_and_help() -> None:
    params = form.params()
    assert list(params) == FIELDS
    for name, param in params.items():
        assert param.schema.get("title") and param.description, name


def test_every_default_passes_the_forms_own_schema() -> None:
    assert ParamsDict(form.params()).validate()["mode"] == "retry_failed"


def test_the_defaults_with_a_store_and_a_reason_are_a_run_the_first_task_accepts() -> None:
    values = ParamsDict(form.params()).validate() | {"store": "demo", "reason": "retry last night's failures"}
    request = parse_request(values, ["demo"])
    assert (request.mode, request.deadline_minutes, request.dry_run, request.scope) == ("retry_failed", 15, False,
                                                                                        "store")
    with pytest.raises(RequestError, match="no store given"):
        parse_request(ParamsDict(form.params()).validate(), ["demo"])


@pytest.mark.parametrize("mode", form.params()["mode"].schema["enum"])
def test_every_mode_offered_is_one_the_run_knows(mode: str) -> None:
    values = {"store": "demo", "mode": mode, "reason": "Black Friday repricing", "skus": ["S1"], "percent": -20,
              "run_id": "manual__2026-11-27T00:00:00+00:00"}
    assert parse_request(values, ["demo"]).mode == mode


@pytest.mark.parametrize(("name", "value"), [("deadline_minutes", form.MAX_DEADLINE_MINUTES + 1),
                                             ("deadline_minutes", 0), ("percent", -100), ("mode", "everything"),
                                             ("scope", "world"), ("floor_price", 0)])
def test_the_schema_refuses_what_cannot_run_at_trigger_time(name: str, value: object) -> None:
    with pytest.raises(ParamValidationError):
        form.params()[name].resolve(value)


def test_a_planned_override_needs_an_iso_start_before_its_end_and_holds_until_its_end() -> None:
    base = {"store": "demo", "mode": "price_override", "percent": -20, "reason": "Black Friday at midnight"}
    planned = parse_request(base | {"start_at": "2026-11-27T00:00", "end_at": "2026-11-28T00:00"}, ["demo"])
    assert (planned.start_at, planned.end_at, planned.hold_until) == ("2026-11-27T00:00", "2026-11-28T00:00",
                                                                       "2026-11-28T00:00")
    for bad, why in [({"start_at": "midnight"}, "start_at must be a date and time"),
                     ({"end_at": "2026-11-28T00:00"}, "end_at needs start_at"),
                     ({"start_at": "2026-11-27T00:00", "end_at": "2026-11-26T23:00"}, "must be after start_at"),
                     ({"start_at": "2026-11-27T00:00", "end_at": "2026-12-27T00:00"}, "within 14 days")]:
        with pytest.raises(RequestError, match=why):
            parse_request(base | bad, ["demo"])
    with pytest.raises(RequestError, match="price_override only"):
        parse_request({"store": "demo", "mode": "skus", "skus": ["A"], "reason": "resync a few SKUs now",
                       "start_at": "2026-11-27T00:00"}, ["demo"])
