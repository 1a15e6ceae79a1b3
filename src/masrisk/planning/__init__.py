"""Planning: from scores to an integral risk-management plan per community.

- :mod:`~masrisk.planning.catalog`: the interventions teams can offer, to whom, at what cost
  in team-hours and with what effect;
- :mod:`~masrisk.planning.eligibility_rules`: which persons each intervention can reach;
- :mod:`~masrisk.planning.territories`: burden, priority and rollout phases;
- :mod:`~masrisk.planning.households`: households in visiting order;
- :mod:`~masrisk.planning.allocation`: team-hours allocated by a MILP (HiGHS);
- :mod:`~masrisk.planning.documents`: the plans as JSON, Markdown and HTML;
- :mod:`~masrisk.planning.writing`: the plans directory, written atomically;
- :mod:`~masrisk.planning.planner`: :func:`plan`, which runs them in order.
"""

from __future__ import annotations

from masrisk.planning.allocation import (
    Allocation,
    AllocationProblem,
    InfeasibleAllocationError,
    allocate,
)
from masrisk.planning.catalog import (
    AXES,
    ROUTES,
    SETTINGS,
    STAGES,
    Intervention,
    InterventionCatalog,
    catalog_path,
    load_catalog,
)
from masrisk.planning.documents import (
    CitySummary,
    CommunityPlan,
    Driver,
    InterventionLine,
    pseudonymize,
    suppress,
)
from masrisk.planning.eligibility_rules import eligibility
from masrisk.planning.planner import Plans, plan
from masrisk.planning.writing import write_plans

__all__ = [
    "Allocation",
    "AllocationProblem",
    "CitySummary",
    "CommunityPlan",
    "Driver",
    "InfeasibleAllocationError",
    "InterventionLine",
    "Plans",
    "allocate",
    "plan",
    "pseudonymize",
    "suppress",
    "write_plans",
    "AXES",
    "ROUTES",
    "SETTINGS",
    "STAGES",
    "Intervention",
    "InterventionCatalog",
    "catalog_path",
    "eligibility",
    "load_catalog",
]
