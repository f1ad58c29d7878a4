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
          "scope", "category", "floor_price", "hold_until", "ceiling_price"]  # docs/urgent.md, the REST conf


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
