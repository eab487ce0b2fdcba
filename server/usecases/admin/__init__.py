"""Administration use cases, one module per aggregate.

- :mod:`~server.usecases.admin.regions`      -- regions for pickers (any signed-in user)
- :mod:`~server.usecases.admin.departments`  -- departments
- :mod:`~server.usecases.admin.categories`   -- case categories and their time limits
- :mod:`~server.usecases.admin.users`        -- user accounts and grid duties
- :mod:`~server.usecases.admin.grids`        -- grids with their duties
- :mod:`~server.usecases.admin.plans`        -- grid plan uploads and publishing
- :mod:`~server.usecases.admin.request_body` -- the body reader they share (every problem at once)

Plain use cases (no Flask): each one validates the whole input first, then changes the database
in one transaction and commits, so a refused request leaves nothing half-written. Reads answer
plain JSON-shaped dicts (docs/api.md, "Admin"). Every change is logged on ``wangge.admin``.

Admins are not limited to a jurisdiction (DESIGN §1: the system administrator). The region
pickers (``regions.regions_children``/``regions.regions_tree``) serve every signed-in user and
keep to the user's own region subtree.
"""
