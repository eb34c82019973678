"""Planners' API: draft grid plans, live figures, validation with fixes, diff, approval.

Everything the editor checks is checked here, on the server; the browser only draws. Saves
name the version they started from and get 409 when someone saved in between.

Every account may look at plans; planners and admins change them (a planner only the cells of
their area), and admins approve. Who saved or approved is the logged-in account, never a name
the client sends.

One router, built in ``routing`` with what the routes declare (the edit permission, the version,
GeoJSON bodies, the check of a planner's area); ``frames`` turns frames into answers. The modules
below add their routes to it when imported, in this order, which is the order requests are
matched (``/import`` and ``/propose`` before ``/{plan_id}``) and the API document lists them:

- ``compare``: two plans (or a plan and the current layer) compared, and the printable page
- ``drafts``: the list of plans; a new plan from a grid layer, from a file, or proposed
- ``editing``: open and save a plan; live figures, validation, fixes, merging and cutting cells
- ``review``: the difference from the current layer, approval, export
- ``topology``: whether a free edit keeps the cells a tiling; a drawn cell carved from others
"""

from __future__ import annotations

# imported for the routes they add, in the order above
from gridmap.api.routes.plans import compare, drafts, editing, review, topology  # noqa: F401
from gridmap.api.routes.plans.routing import router

__all__ = ["router"]
