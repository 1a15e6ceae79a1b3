"""Planning: from scores to an integral risk-management plan per community.

:func:`plan` (:mod:`~masrisk.planning.planner`) runs the steps in order: the interventions
(``catalog``) and who can get them (``eligibility_rules``), territories' priority and phases
(``territories``), households' visiting order (``households``), team-hours by a MILP
(``allocation``), the plans as JSON, Markdown and HTML (``documents``, ``render``) and the plans
directory (``writing``).
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
