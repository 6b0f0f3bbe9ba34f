"""Run plans: execute notebooks headless with papermill into ``reports/<profile>/``.

* :mod:`.plans` — ``plans/<profile>.yaml`` read and checked (names, notebooks, parameters) before anything runs;
* :mod:`.execute` — each run in its own kernel environment (local processes or a Dask cluster), its ``run.json``
  from queued / running to ok, partial, failed or interrupted, and the content-hash cache (only an unchanged ok
  run is skipped);
* :mod:`.records` — ``run.json`` written atomically, ``metrics.json`` read through ``Results.from_dict``;
* :mod:`.summary` — the profile's ``index.html``, ``summary.md`` and ``summary.json``;
* :mod:`.check` — ``run --check``: a plan validated and its assets resolved, executing nothing.
"""
from .check import asset_availability, assets_for_run, check_profile
from .execute import HASHED_TREES, check_kernel, content_hash, execute_run, kernel_env, run_profile
from .plans import (KERNEL_NAME, PLANS_DIR, REPORTS_DIR, PlanError, RunSpec, check_name, load_plan, profiles, select,
                    validate_parameters)
from .records import read_record, record_status
from .summary import write_summary

__all__ = ["HASHED_TREES", "KERNEL_NAME", "PLANS_DIR", "REPORTS_DIR", "PlanError", "RunSpec", "asset_availability",
           "assets_for_run", "check_kernel", "check_name", "check_profile", "content_hash", "execute_run",
           "kernel_env", "load_plan", "profiles", "read_record", "record_status", "run_profile", "select",
           "validate_parameters", "write_summary"]
